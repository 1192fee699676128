/* libelf for Swift: the headers plus the macros that do not import. */
#ifndef FSHOST_CELF_SHIM_H
#define FSHOST_CELF_SHIM_H
#include <gelf.h>
#include <libelf.h>
#include <elf.h>

static inline unsigned char celf_st_type(unsigned char info) { return GELF_ST_TYPE(info); }
static inline unsigned char celf_st_bind(unsigned char info) { return GELF_ST_BIND(info); }
static inline unsigned char celf_st_visibility(unsigned char other) { return GELF_ST_VISIBILITY(other); }
static inline Elf *celf_begin_read(int fd) { return elf_begin(fd, ELF_C_READ, NULL); }
#endif
