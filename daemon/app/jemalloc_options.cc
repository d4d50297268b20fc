// jemalloc's options for the nsmd binary (linked only where it allocates
// with jemalloc; MALLOC_CONF in the environment still overrides them).
//
// oversize_threshold:0: no dedicated arena for allocations of 8 MiB and up.
// That arena returns freed memory to the kernel at once, and librdkafka
// receives each fetch response (tens of MiB while catching up) into a new
// buffer of its size: every fetch faulted its pages in afresh. Measured on
// a 2 M-event catch-up (benchmarks/RESULTS.md): minor faults 258 k -> 155 k,
// nsmd CPU 4.2 -> 3.5 s; freed buffers are reused within the normal arenas'
// 10 s decay instead.
extern "C" {
// NOLINTNEXTLINE(readability-identifier-naming): the name jemalloc reads.
extern const char* malloc_conf;
const char* malloc_conf = "oversize_threshold:0";
}
