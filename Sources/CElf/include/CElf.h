/* libelf for Swift, loaded on first use.
 *
 * A plugin whose verification is remembered (ELFCheck's VerificationCache)
 * is loaded without reading it with libelf; linking libelf (and libz) would
 * cost every action call their load (~0.1 ms). So the verifier calls these
 * `lazy_` functions, which `dlopen("libelf.so.1")` on the first call and
 * forward to the real ones. When the library cannot be loaded,
 * `lazy_elf_version` returns EV_NONE and `lazy_elf_errmsg` says why.
 *
 * Also: the macros that do not import. */
#ifndef FSHOST_CELF_H
#define FSHOST_CELF_H
#include <gelf.h>
#include <libelf.h>
#include <elf.h>
#include <link.h>
#include <string.h>

unsigned int lazy_elf_version(unsigned int version);
const char *lazy_elf_errmsg(int error);
int lazy_elf_end(Elf *elf);
Elf_Kind lazy_elf_kind(Elf *elf);
int lazy_elf_getphdrnum(Elf *elf, size_t *dst);
Elf_Scn *lazy_elf_getscn(Elf *elf, size_t index);
int lazy_elf_getshdrnum(Elf *elf, size_t *dst);
int lazy_elf_getshdrstrndx(Elf *elf, size_t *dst);
Elf_Data *lazy_elf_rawdata(Elf_Scn *scn, Elf_Data *data);
Elf_Data *lazy_elf_getdata_rawchunk(Elf *elf, int64_t offset, size_t size, Elf_Type type);
char *lazy_elf_strptr(Elf *elf, size_t index, size_t offset);
size_t lazy_gelf_fsize(Elf *elf, Elf_Type type, size_t count, unsigned int version);
GElf_Ehdr *lazy_gelf_getehdr(Elf *elf, GElf_Ehdr *dst);
GElf_Shdr *lazy_gelf_getshdr(Elf_Scn *scn, GElf_Shdr *dst);
GElf_Phdr *lazy_gelf_getphdr(Elf *elf, int index, GElf_Phdr *dst);
GElf_Dyn *lazy_gelf_getdyn(Elf_Data *data, int index, GElf_Dyn *dst);

static inline unsigned char celf_st_type(unsigned char info) { return GELF_ST_TYPE(info); }
static inline unsigned char celf_st_bind(unsigned char info) { return GELF_ST_BIND(info); }
static inline unsigned char celf_st_visibility(unsigned char other) { return GELF_ST_VISIBILITY(other); }
Elf *celf_begin_read(int fd);

/*
 * Looks `name` up in the symbol table section `scn` (SHT_DYNSYM or SHT_SYMTAB)
 * by a linear scan; names come from the string table the section links to.
 * Returns the symbol's index and fills *out, 0 when absent (index 0 is the
 * null symbol), -1 when the table cannot be read.
 */
long celf_find_symbol(Elf *elf, Elf_Scn *scn, const char *name, GElf_Sym *out);

/* The loader's list of loaded objects (struct link_map chain). */
static inline struct link_map *celf_loaded_objects(void) { return _r_debug.r_map; }
#endif
