/* libelf for Swift: the headers plus the macros that do not import. */
#ifndef FSHOST_CELF_SHIM_H
#define FSHOST_CELF_SHIM_H
#include <gelf.h>
#include <libelf.h>
#include <elf.h>
#include <link.h>
#include <string.h>

static inline unsigned char celf_st_type(unsigned char info) { return GELF_ST_TYPE(info); }
static inline unsigned char celf_st_bind(unsigned char info) { return GELF_ST_BIND(info); }
static inline unsigned char celf_st_visibility(unsigned char other) { return GELF_ST_VISIBILITY(other); }
static inline Elf *celf_begin_read(int fd) { return elf_begin(fd, ELF_C_READ, NULL); }

/*
 * Looks `name` up in the symbol table section `scn` (SHT_DYNSYM or SHT_SYMTAB)
 * by a linear scan; names come from the string table the section links to.
 * Returns the symbol's index and fills *out, 0 when absent (index 0 is the
 * null symbol), -1 when the table cannot be read.
 */
static inline long celf_find_symbol(Elf *elf, Elf_Scn *scn, const char *name, GElf_Sym *out) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) == NULL || shdr.sh_entsize == 0) return -1;
    Elf_Data *data = elf_getdata(scn, NULL);
    if (data == NULL) return -1;
    size_t count = data->d_size / gelf_fsize(elf, ELF_T_SYM, 1, EV_CURRENT);
    for (size_t i = 1; i < count; i++) {
        GElf_Sym sym;
        if (gelf_getsym(data, (int)i, &sym) == NULL) return -1;
        if (sym.st_name == 0) continue;
        const char *s = elf_strptr(elf, shdr.sh_link, sym.st_name);
        if (s != NULL && strcmp(s, name) == 0) {
            *out = sym;
            return (long)i;
        }
    }
    return 0;
}
/* The loader's list of loaded objects (struct link_map chain). */
static inline struct link_map *celf_loaded_objects(void) { return _r_debug.r_map; }
#endif
