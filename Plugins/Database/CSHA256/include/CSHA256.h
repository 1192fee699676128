// SHA-256's block function with the CPU's SHA extensions (x86 SHA-NI),
// for the database plugin's SCRAM (Plugins/Database/SCRAM.swift).
#ifndef CSHA256_H
#define CSHA256_H
#include <stdint.h>
#include <stddef.h>

/// 1 when this CPU has the SHA extensions (and SSSE3, SSE4.1) and
/// csha256_compress can be used; 0 otherwise (the Swift code then compresses).
int csha256_available(void);

/// Compresses `blocks` 64-byte blocks at `data` into `state` (8 words,
/// FIPS 180-4 order a..h). Only when csha256_available() said 1.
void csha256_compress(uint32_t state[8], const uint8_t *data, size_t blocks);

/// SHA-256's 64 round constants K (FIPS 180-4 §4.2.2), for the Swift blocks too.
const uint32_t *csha256_round_constants(void);

#endif
