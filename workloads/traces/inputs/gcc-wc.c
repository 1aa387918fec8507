/* gcc-wc.c: input for the gcc trace of the corpus: a word-frequency counter
 * (hash table, dynamic array, qsort), compiled with -O2. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
  char *word;
  unsigned long count;
  struct entry *next;
};

struct table {
  struct entry **slots;
  size_t nslots, nentries;
};

static unsigned long hash(const char *s) {
  unsigned long h = 5381;
  while (*s) h = h * 33 + (unsigned char)*s++;
  return h;
}

static void grow(struct table *t) {
  size_t n = t->nslots ? t->nslots * 2 : 64;
  struct entry **s = calloc(n, sizeof *s);
  if (!s) abort();
  for (size_t i = 0; i < t->nslots; i++) {
    struct entry *e = t->slots[i], *next;
    for (; e; e = next) {
      next = e->next;
      size_t k = hash(e->word) & (n - 1);
      e->next = s[k];
      s[k] = e;
    }
  }
  free(t->slots);
  t->slots = s;
  t->nslots = n;
}

static void add(struct table *t, const char *w) {
  if (t->nentries * 4 >= t->nslots * 3) grow(t);
  size_t k = hash(w) & (t->nslots - 1);
  for (struct entry *e = t->slots[k]; e; e = e->next)
    if (!strcmp(e->word, w)) {
      e->count++;
      return;
    }
  struct entry *e = malloc(sizeof *e);
  if (!e || !(e->word = strdup(w))) abort();
  e->count = 1;
  e->next = t->slots[k];
  t->slots[k] = e;
  t->nentries++;
}

static int by_count(const void *a, const void *b) {
  const struct entry *x = *(struct entry *const *)a, *y = *(struct entry *const *)b;
  if (x->count != y->count) return x->count < y->count ? 1 : -1;
  return strcmp(x->word, y->word);
}

int main(int argc, char **argv) {
  struct table t = {0};
  char word[256];
  size_t n = 0;
  int c;
  FILE *f = argc > 1 ? fopen(argv[1], "r") : stdin;
  if (!f) return 1;
  while ((c = fgetc(f)) != EOF) {
    if (isalpha(c) && n < sizeof word - 1) {
      word[n++] = (char)tolower(c);
    } else if (n) {
      word[n] = 0;
      add(&t, word);
      n = 0;
    }
  }
  struct entry **all = malloc(t.nentries * sizeof *all);
  size_t k = 0;
  for (size_t i = 0; i < t.nslots; i++)
    for (struct entry *e = t.slots[i]; e; e = e->next) all[k++] = e;
  qsort(all, k, sizeof *all, by_count);
  for (size_t i = 0; i < k && i < 10; i++) printf("%8lu %s\n", all[i]->count, all[i]->word);
  return 0;
}
