-- joins.sql: tables, indexes and joins, deterministic output.
CREATE TABLE person(id INTEGER PRIMARY KEY, name TEXT, city INTEGER);
CREATE TABLE city(id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE orders(id INTEGER PRIMARY KEY, person INTEGER, amount INTEGER, note TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
  INSERT INTO city SELECT i, 'city' || i FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
  INSERT INTO person SELECT i, 'p' || (i * 7919 % 5000), i % 200 + 1 FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30000)
  INSERT INTO orders SELECT i, i * 31 % 5000 + 1, i * 17 % 1000, printf('note %d %s', i, hex(i * 2654435761)) FROM n;
CREATE INDEX orders_person ON orders(person);
CREATE INDEX person_city ON person(city);
SELECT c.name, count(*), sum(o.amount) FROM orders o JOIN person p ON p.id = o.person JOIN city c ON c.id = p.city
  GROUP BY c.id ORDER BY sum(o.amount) DESC, c.name LIMIT 5;
SELECT p.name, max(o.amount) FROM person p JOIN orders o ON o.person = p.id WHERE p.city BETWEEN 10 AND 20
  GROUP BY p.id ORDER BY 2 DESC, 1 LIMIT 5;
SELECT count(DISTINCT note), length(group_concat(note)) FROM orders WHERE amount > 500;
