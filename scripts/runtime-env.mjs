// Environment the gateway process should start with, shared by `npm start`
// (scripts/start.mjs), the benchmarks and the production process configs.
//
// glibc hands out every allocation above 128 KiB as fresh pages from mmap and
// returns them on free, so each 4 MiB upload chunk (the WebSocket frame ws
// assembles, the HTTP body Node reads) costs 1024 page faults and the kernel
// zeroing 4 MiB: measured here, allocating and filling 4 MiB buffers runs at
// about 0.9 GiB/s that way and 8 GiB/s when freed memory is reused. Raising
// the mmap threshold above a chunk and keeping freed memory in the heap lets
// the next chunk reuse the last one's pages.
export const GATEWAY_RUNTIME_ENV = {
  MALLOC_MMAP_THRESHOLD_: String(32 * 1024 * 1024),
  MALLOC_TRIM_THRESHOLD_: String(256 * 1024 * 1024),
};
