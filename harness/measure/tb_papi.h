/* tb_papi.h: the `papi` backend's event probing, exposed for tests and for
 * the default-backend choice.
 *
 * Terms:
 *   metric     - what the backend reports (cycles, l1d_misses, ...), each
 *                with a list of candidate events: a PAPI preset first, then
 *                native fallbacks (ARM, Intel, AMD, perf generic names).
 *   accepted   - a metric whose first countable candidate was found by
 *                probing (name known, added to an event set with the
 *                events accepted before it, started and stopped).
 *   dropped    - a metric none of whose candidates could be counted; it is
 *                reported NA and named once on stderr.
 *   multiplex  - used when an event only fails for lack of counters.
 */
#ifndef TB_PAPI_H
#define TB_PAPI_H

#include <stdbool.h>
#include <stddef.h>

/* Whether a hardware L1 data-cache miss event can be counted here; when
 * not, why (one line). Without PAPI in the build: false. */
bool tb_papi_hw_cache_countable(char *why, size_t whylen);

/* Whether PAPI can count anything here: false when its CPU component
 * (perf_event) is disabled, e.g. a VM without a PMU, where the backend
 * opens with every metric NA; why, in one line. Without PAPI: false. */
bool tb_papi_counts_anything(char *why, size_t whylen);

/* The notice printed for dropped events is also kept here (for tests):
 * the last one printed, or "" when none was. */
const char *tb_papi_last_notice(void);

/* How many notices were printed to stderr by this process. */
int tb_papi_notices_printed(void);

#endif
