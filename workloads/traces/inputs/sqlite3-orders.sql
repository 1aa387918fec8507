-- Input of the sqlite3 trace of the corpus. A small order database: tables, bulk insert, an index, joins and aggregates.
CREATE TABLE customer(id INTEGER PRIMARY KEY, name TEXT, city TEXT);
CREATE TABLE orders(id INTEGER PRIMARY KEY, customer INTEGER REFERENCES customer(id), item TEXT, qty INTEGER, price REAL);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000)
  INSERT INTO customer SELECT x, 'customer-' || x, 'city-' || (x % 97) FROM c;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 40000)
  INSERT INTO orders SELECT x, 1 + (x * 7919) % 2000, hex(randomblob(8)), 1 + x % 13, (x % 1000) / 10.0 FROM c;
CREATE INDEX orders_customer ON orders(customer);
SELECT city, count(*), sum(qty * price) FROM orders JOIN customer ON customer.id = orders.customer
  GROUP BY city ORDER BY 3 DESC LIMIT 5;
SELECT item, qty FROM orders WHERE customer IN (SELECT id FROM customer WHERE city = 'city-5') ORDER BY item LIMIT 3;
UPDATE orders SET price = price * 1.1 WHERE qty > 10;
DELETE FROM orders WHERE id % 5 = 0;
VACUUM;
SELECT count(*), round(avg(price), 2) FROM orders;
