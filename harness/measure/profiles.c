/* profiles.c: reading and checking machine profiles (profiles.conf, the
 * format is in README.md), the `host` profile from the topology, valgrind's
 * constraints on simulated cache geometry, and the listing for
 * `testbed list`. Errors are "FILE:LINE: message". */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "profiles.h"
#include "topology.h"

#ifndef TB_PROFILES_PATH
#define TB_PROFILES_PATH "profiles.conf"
#endif

const char *tb_profiles_path(void) {
  const char *e = getenv("TB_PROFILES");
  return e && *e ? e : TB_PROFILES_PATH;
}

static int fail(char *err, size_t errlen, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int fail(char *err, size_t errlen, const char *file, int line, const char *fmt, ...) {
  int n = snprintf(err, errlen, "%s:%d: ", file, line);
  va_list ap;
  va_start(ap, fmt);
  if (n >= 0 && (size_t)n < errlen) vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
  va_end(ap);
  return 1;
}

static char *trim(char *s) {
  while (isspace((unsigned char)*s)) s++;
  char *e = s + strlen(s);
  while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
  return s;
}

/* SIZE: digits with an optional K/M/G suffix. */
static bool parse_size(const char *s, uint64_t *out) {
  if (!isdigit((unsigned char)*s)) return false;
  errno = 0;
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno) return false;
  uint64_t mul = 1;
  if (*end == 'K') mul = 1ull << 10, end++;
  else if (*end == 'M') mul = 1ull << 20, end++;
  else if (*end == 'G') mul = 1ull << 30, end++;
  if (*end || v > UINT64_MAX / mul) return false;
  *out = v * mul;
  return true;
}

static bool parse_ways(const char *s, uint32_t *out) {
  if (strcmp(s, "full") == 0) {
    *out = TB_WAYS_FULL;
    return true;
  }
  if (strcmp(s, "unknown") == 0) {
    *out = TB_WAYS_UNKNOWN;
    return true;
  }
  uint64_t v;
  if (!parse_size(s, &v) || v == 0 || v >= UINT32_MAX || !isdigit((unsigned char)s[strlen(s) - 1])) return false;
  *out = (uint32_t)v;
  return true;
}

static bool pow2(uint64_t v) { return v && !(v & (v - 1)); }

/* "k1=v1 k2=v2 ...": the fields named in keys[] (each exactly once). */
static int parse_fields(char *val, const char *const keys[], int nk, char *vals[], const char *file, int line,
                        const char *what, char *err, size_t errlen) {
  for (int i = 0; i < nk; i++) vals[i] = NULL;
  char *save = NULL;
  for (char *tok = strtok_r(val, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
    char *eq = strchr(tok, '=');
    if (!eq) return fail(err, errlen, file, line, "%s: '%s' is not FIELD=VALUE", what, tok);
    *eq = '\0';
    int k;
    for (k = 0; k < nk && strcmp(keys[k], tok) != 0; k++) {}
    if (k == nk) return fail(err, errlen, file, line, "%s: unknown field '%s'", what, tok);
    if (vals[k]) return fail(err, errlen, file, line, "%s: field '%s' given twice", what, tok);
    vals[k] = eq + 1;
  }
  for (int i = 0; i < nk; i++)
    if (!vals[i]) return fail(err, errlen, file, line, "%s: missing field '%s'", what, keys[i]);
  return 0;
}

static int parse_cache(char *val, tb_cache_level_t *c, const char *file, int line, const char *what, char *err,
                       size_t errlen) {
  static const char *const keys[] = {"size", "ways", "line"};
  char *v[3];
  if (parse_fields(val, keys, 3, v, file, line, what, err, errlen)) return 1;
  uint64_t size, ln;
  if (!parse_size(v[0], &size) || size == 0) return fail(err, errlen, file, line, "%s: bad size '%s'", what, v[0]);
  if (!parse_ways(v[1], &c->ways)) return fail(err, errlen, file, line, "%s: bad ways '%s' (a number, full or unknown)", what, v[1]);
  if (!parse_size(v[2], &ln) || !pow2(ln) || ln > 4096)
    return fail(err, errlen, file, line, "%s: line size '%s' is not a power of two up to 4096", what, v[2]);
  if (size % ln) return fail(err, errlen, file, line, "%s: size %llu is not a multiple of the line size %llu", what, (unsigned long long)size, (unsigned long long)ln);
  uint64_t lines = size / ln;
  if (c->ways != TB_WAYS_FULL && c->ways != TB_WAYS_UNKNOWN) {
    if (c->ways > lines) return fail(err, errlen, file, line, "%s: %u ways but only %llu lines", what, c->ways, (unsigned long long)lines);
    if (lines % c->ways)
      return fail(err, errlen, file, line, "%s: %llu lines do not divide into %u ways (sets must be whole)", what, (unsigned long long)lines, c->ways);
  }
  c->size = size;
  c->line = (uint32_t)ln;
  c->src_line = line;
  return 0;
}

static int parse_tlb(char *val, tb_tlb_level_t *t, const char *file, int line, const char *what, char *err, size_t errlen) {
  static const char *const keys[] = {"entries", "ways", "page"};
  char *v[3];
  if (parse_fields(val, keys, 3, v, file, line, what, err, errlen)) return 1;
  uint64_t e, pg;
  if (!parse_size(v[0], &e) || e == 0 || e >= UINT32_MAX) return fail(err, errlen, file, line, "%s: bad entries '%s'", what, v[0]);
  if (!parse_ways(v[1], &t->ways)) return fail(err, errlen, file, line, "%s: bad ways '%s' (a number, full or unknown)", what, v[1]);
  if (!parse_size(v[2], &pg) || !pow2(pg) || pg < 1024) return fail(err, errlen, file, line, "%s: page size '%s' is not a power of two >= 1K", what, v[2]);
  if (t->ways != TB_WAYS_FULL && t->ways != TB_WAYS_UNKNOWN && (t->ways > e || e % t->ways))
    return fail(err, errlen, file, line, "%s: %llu entries do not divide into %u ways", what, (unsigned long long)e, t->ways);
  t->entries = (uint32_t)e;
  t->page = pg;
  return 0;
}

/* Required keys present? Reported at the profile's [name] line. */
static int finish(const tb_profile_t *p, char *err, size_t errlen) {
  const char *missing = !p->cpu[0] ? "cpu" : !p->arch[0] ? "arch" : !p->page ? "page" : !p->l1i.size ? "l1i"
                        : !p->l1d.size ? "l1d" : !p->l2.size ? "l2" : !p->source[0] ? "source" : NULL;
  if (missing) return fail(err, errlen, p->file, p->line, "profile '%s' has no '%s'", p->name, missing);
  return 0;
}

int tb_profiles_load(const char *path, tb_profile_t **out, size_t *nout, char *err, size_t errlen) {
  *out = NULL;
  *nout = 0;
  FILE *f = fopen(path, "r");
  if (!f) return fail(err, errlen, path, 0, "cannot open profile file: %s", strerror(errno));
  tb_profile_t *v = NULL, *p = NULL;
  size_t n = 0, cap = 0;
  char buf[1024];
  int line = 0, rc = 0;
  unsigned seen = 0; /* keys set in the current profile (bit per key) */
  while (fgets(buf, sizeof buf, f)) {
    line++;
    if (!strchr(buf, '\n') && !feof(f)) {
      rc = fail(err, errlen, path, line, "line longer than %zu characters", sizeof buf - 2);
      break;
    }
    char *hash = strchr(buf, '#');
    if (hash) *hash = '\0';
    char *s = trim(buf);
    if (!*s) continue;
    if (*s == '[') {
      char *close = strchr(s, ']');
      if (!close || trim(close + 1)[0]) { rc = fail(err, errlen, path, line, "bad profile header '%s' (want [name])", s); break; }
      *close = '\0';
      char *name = trim(s + 1);
      bool ok = *name && strlen(name) < sizeof p->name;
      for (char *c = name; ok && *c; c++) ok = islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '-';
      if (!ok) { rc = fail(err, errlen, path, line, "bad profile name '%s' (lower case letters, digits, '-', up to %zu)", name, sizeof p->name - 1); break; }
      if (strcmp(name, "host") == 0) { rc = fail(err, errlen, path, line, "'host' is reserved: it is read from this machine at run time"); break; }
      for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].name, name) == 0) { rc = fail(err, errlen, path, line, "profile '%s' already defined at line %d", name, v[i].line); break; }
      if (rc) break;
      if (p && (rc = finish(p, err, errlen))) break;
      if (n == cap) {
        cap = cap ? cap * 2 : 8;
        tb_profile_t *nv = realloc(v, cap * sizeof *v);
        if (!nv) { rc = fail(err, errlen, path, line, "out of memory"); break; }
        v = nv;
      }
      p = &v[n++];
      memset(p, 0, sizeof *p);
      snprintf(p->name, sizeof p->name, "%s", name);
      snprintf(p->file, sizeof p->file, "%s", path);
      p->line = line;
      seen = 0;
      continue;
    }
    char *eq = strchr(s, '=');
    if (!eq) { rc = fail(err, errlen, path, line, "expected 'key = value' or '[name]', got '%s'", s); break; }
    *eq = '\0';
    char *key = trim(s), *val = trim(eq + 1);
    if (!p) { rc = fail(err, errlen, path, line, "'%s' before any [profile] header", key); break; }
    if (!*val) { rc = fail(err, errlen, path, line, "'%s' has no value", key); break; }
    static const char *const keys[] = {"cpu", "arch", "page", "l1i", "l1d", "l2", "l3", "source"};
    int k;
    for (k = 0; k < 8 && strcmp(keys[k], key) != 0; k++) {}
    if (k < 8) {
      if (seen & (1u << k)) { rc = fail(err, errlen, path, line, "'%s' given twice in profile '%s'", key, p->name); break; }
      seen |= 1u << k;
    }
    char what[64];
    snprintf(what, sizeof what, "%s.%s", p->name, key);
    if (k == 0) snprintf(p->cpu, sizeof p->cpu, "%s", val);
    else if (k == 1) {
      if (strcmp(val, "x86_64") && strcmp(val, "aarch64")) { rc = fail(err, errlen, path, line, "arch '%s' is not x86_64 or aarch64", val); break; }
      snprintf(p->arch, sizeof p->arch, "%s", val);
    } else if (k == 2) {
      if (!parse_size(val, &p->page) || !pow2(p->page) || p->page < 1024) { rc = fail(err, errlen, path, line, "page size '%s' is not a power of two >= 1K", val); break; }
    } else if (k >= 3 && k <= 6) {
      tb_cache_level_t *c = k == 3 ? &p->l1i : k == 4 ? &p->l1d : k == 5 ? &p->l2 : &p->l3;
      if ((rc = parse_cache(val, c, path, line, what, err, errlen))) break;
    } else if (k == 7) {
      snprintf(p->source, sizeof p->source, "%s", val);
    } else if (strncmp(key, "tlb.", 4) == 0 && key[4] && strlen(key + 4) < sizeof p->tlb[0].name) {
      if (p->ntlb == TB_PROFILE_MAX_TLB) { rc = fail(err, errlen, path, line, "more than %d TLB levels", TB_PROFILE_MAX_TLB); break; }
      for (int i = 0; i < p->ntlb; i++)
        if (strcmp(p->tlb[i].name, key + 4) == 0) { rc = fail(err, errlen, path, line, "'%s' given twice in profile '%s'", key, p->name); break; }
      if (rc) break;
      tb_tlb_level_t *t = &p->tlb[p->ntlb];
      snprintf(t->name, sizeof t->name, "%s", key + 4);
      if ((rc = parse_tlb(val, t, path, line, what, err, errlen))) break;
      p->ntlb++;
    } else {
      rc = fail(err, errlen, path, line, "unknown key '%s' (cpu, arch, page, l1i, l1d, l2, l3, tlb.NAME, source)", key);
      break;
    }
  }
  if (!rc && ferror(f)) rc = fail(err, errlen, path, line, "read error");
  fclose(f);
  if (!rc && p) rc = finish(p, err, errlen);
  if (!rc && n == 0) rc = fail(err, errlen, path, line, "no profiles defined");
  if (rc) {
    free(v);
    return rc;
  }
  *out = v;
  *nout = n;
  return 0;
}

int tb_profile_get(const char *name, tb_profile_t *out, char *err, size_t errlen) {
  if (!name || !*name || strcmp(name, "host") == 0) return tb_topology_profile(out, err, errlen);
  tb_profile_t *v;
  size_t n;
  if (tb_profiles_load(tb_profiles_path(), &v, &n, err, errlen)) return 1;
  for (size_t i = 0; i < n; i++)
    if (strcmp(v[i].name, name) == 0) {
      *out = v[i];
      free(v);
      return 0;
    }
  size_t l = (size_t)snprintf(err, errlen, "unknown profile '%s' (known: host", name);
  for (size_t i = 0; i < n && l < errlen; i++) l += (size_t)snprintf(err + l, errlen - l, ", %s", v[i].name);
  if (l < errlen) snprintf(err + l, errlen - l, ")");
  free(v);
  return 1;
}

const tb_cache_level_t *tb_profile_ll(const tb_profile_t *p) { return p->l3.size ? &p->l3 : &p->l2; }

/* The checks valgrind applies to --I1/--D1/--LL (cachegrind and callgrind
 * refuse other geometries, or need power-of-two set counts to index). */
static int check_vg_level(const tb_profile_t *p, const tb_cache_level_t *c, const char *lvl, const char *key, char *err,
                          size_t errlen) {
  const char *file = p->file;
  int line = c->src_line ? c->src_line : p->line;
  if (c->ways == TB_WAYS_UNKNOWN)
    return fail(err, errlen, file, line, "profile '%s': %s (%s) has unknown ways; valgrind needs them", p->name, key, lvl);
  uint64_t lines = c->size / c->line;
  uint64_t ways = c->ways == TB_WAYS_FULL ? lines : c->ways;
  if (!pow2(c->line) || c->line < 16)
    return fail(err, errlen, file, line, "profile '%s': %s (%s) line size %u: valgrind needs a power of two >= 16", p->name, key, lvl, c->line);
  if (c->size <= c->line)
    return fail(err, errlen, file, line, "profile '%s': %s (%s) size %llu is not larger than its line", p->name, key, lvl, (unsigned long long)c->size);
  if (ways > lines)
    return fail(err, errlen, file, line, "profile '%s': %s (%s) has more ways (%llu) than lines (%llu)", p->name, key, lvl, (unsigned long long)ways, (unsigned long long)lines);
  if (lines % ways || !pow2(lines / ways))
    return fail(err, errlen, file, line,
                "profile '%s': %s (%s) has %llu lines in %llu ways = %.6g sets; valgrind needs a whole power-of-two set count",
                p->name, key, lvl, (unsigned long long)lines, (unsigned long long)ways, (double)lines / (double)ways);
  return 0;
}

int tb_profile_check_valgrind(const tb_profile_t *p, char *err, size_t errlen) {
  const tb_cache_level_t *ll = tb_profile_ll(p);
  if (check_vg_level(p, &p->l1i, "I1", "l1i", err, errlen)) return 1;
  if (check_vg_level(p, &p->l1d, "D1", "l1d", err, errlen)) return 1;
  return check_vg_level(p, ll, "LL", ll == &p->l3 ? "l3" : "l2", err, errlen);
}

static void fmt_size(char *b, size_t n, uint64_t v) {
  if (v >= (1ull << 20) && v % (1ull << 20) == 0) snprintf(b, n, "%lluM", (unsigned long long)(v >> 20));
  else if (v >= 1024 && v % 1024 == 0) snprintf(b, n, "%lluK", (unsigned long long)(v >> 10));
  else snprintf(b, n, "%llu", (unsigned long long)v);
}

static void fmt_level(char *b, size_t n, const tb_cache_level_t *c) {
  char s[32];
  if (!c->size) {
    snprintf(b, n, "-");
    return;
  }
  fmt_size(s, sizeof s, c->size);
  if (c->ways == TB_WAYS_FULL) snprintf(b, n, "%s/full/%u", s, c->line);
  else if (c->ways == TB_WAYS_UNKNOWN) snprintf(b, n, "%s/?/%u", s, c->line);
  else snprintf(b, n, "%s/%u/%u", s, c->ways, c->line);
}

static void print_profile(FILE *f, const tb_profile_t *p) {
  char a[48], b[48], c[48], d[48], pg[16], vg[200];
  fmt_level(a, sizeof a, &p->l1i);
  fmt_level(b, sizeof b, &p->l1d);
  fmt_level(c, sizeof c, &p->l2);
  fmt_level(d, sizeof d, &p->l3);
  fmt_size(pg, sizeof pg, p->page);
  bool ok = tb_profile_check_valgrind(p, vg, sizeof vg) == 0;
  fprintf(f, "  %-12s %-7s page %-4s L1i %-12s L1d %-12s L2 %-12s L3 %s%s\n", p->name, p->arch, pg, a, b, c, d,
          ok ? "" : "  (valgrind cannot simulate it)");
  fprintf(f, "  %-12s %s\n", "", p->cpu);
}

int tb_profiles_list(FILE *f, char *err, size_t errlen) {
  tb_profile_t host, *v;
  size_t n;
  char herr[256];
  fprintf(f, "profiles (%s; cache levels as size/ways/line):\n", tb_profiles_path());
  if (tb_topology_profile(&host, herr, sizeof herr) == 0) print_profile(f, &host);
  else fprintf(f, "  %-12s unavailable: %s\n", "host", herr);
  if (tb_profiles_load(tb_profiles_path(), &v, &n, err, errlen)) return 1;
  for (size_t i = 0; i < n; i++) print_profile(f, &v[i]);
  free(v);
  return 0;
}
