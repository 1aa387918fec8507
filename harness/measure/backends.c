/* backends.c: the registry of measurement backends (timer, papi,
 * cachegrind, memsim) and the choice of the default set for this machine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "tb_papi.h"

extern const tb_backend_t tb_backend_timer;
extern const tb_backend_t tb_backend_papi;
extern const tb_backend_t tb_backend_cachegrind;
extern const tb_backend_t tb_backend_memsim;

static const tb_backend_t *const backends[] = {
    &tb_backend_timer,
    &tb_backend_papi,
    &tb_backend_cachegrind,
    &tb_backend_memsim,
};

const tb_backend_t *tb_backend_at(size_t i) {
  return i < sizeof backends / sizeof backends[0] ? backends[i] : NULL;
}

const tb_backend_t *tb_backend_find(const char *name) {
  for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
    if (strcmp(backends[i]->name, name) == 0) return backends[i];
  return NULL;
}

const tb_backend_t *tb_backend_lookup(const char *spec, const char **profile) {
  const char *colon = strchr(spec, ':');
  char name[64];
  size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
  if (profile) *profile = colon ? colon + 1 : NULL;
  if (n >= sizeof name) return NULL;
  memcpy(name, spec, n);
  name[n] = '\0';
  return tb_backend_find(name);
}

bool tb_backend_inner(void) {
  const char *v = getenv(TB_BACKEND_INNER_ENV);
  return v && *v;
}

void tb_backend_default(char *choice, size_t clen, char *reason, size_t rlen) {
  char why[400], cg[256];
  if (tb_papi_hw_cache_countable(why, sizeof why)) {
    snprintf(choice, clen, "papi");
    snprintf(reason, rlen, "%s", why);
    return;
  }
  if (tb_backend_cachegrind.available(cg, sizeof cg)) {
    snprintf(choice, clen, "timer,cachegrind:host");
    snprintf(reason, rlen, "%s; simulating this machine's caches instead", why);
  } else {
    snprintf(choice, clen, "timer");
    snprintf(reason, rlen, "%s; cache simulation unavailable too (%s)", why, cg);
  }
}
