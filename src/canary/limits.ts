/**
 * How much one canary judgement may ask for (issue 16.1). Every limit is checked at the request's schema
 * and answered with 400 naming the field and the limit, before any arithmetic.
 *
 * Why these numbers: a decision usually carries 10 metrics × 300 samples a side (6,000 numbers). A side
 * of 11,000 is what Prometheus itself returns at most per series (its range-query resolution limit), so
 * no window read at scrape resolution needs more. 50 metrics per request leaves five times the usual
 * count. The total per request bounds the work and the stored audit row (8 bytes a sample, ≤ 400 KB)
 * whatever the body limit is set to. The largest request these allow is timed by bench/canary-limits.ts.
 */
export const MAX_SAMPLES_PER_SIDE = 11_000;
export const MAX_METRICS_PER_REQUEST = 50;
export const MAX_SAMPLES_PER_REQUEST = 50_000;

/** The message of a request over MAX_SAMPLES_PER_REQUEST (also used for samples fetched from Prometheus). */
export const tooManySamples = (total: number): string =>
  `${total} samples in all (baseline and canary of every metric); at most ${MAX_SAMPLES_PER_REQUEST} per request`;
