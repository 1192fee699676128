/* libelf loaded on first use: see include/CElf.h. */
#include "CElf.h"
#include <dlfcn.h>
#include <stddef.h>

static void *library;
static const char *load_error;

/* The library's handle, loaded on the first call. */
static void *handle(void) {
    if (library == NULL && load_error == NULL) {
        library = dlopen("libelf.so.1", RTLD_NOW | RTLD_LOCAL);
        if (library == NULL) {
            load_error = dlerror();
            if (load_error == NULL) load_error = "libelf.so.1 cannot be loaded";
        }
    }
    return library;
}

/* A forwarding function: finds `name` once, then calls it; `failure` when
 * the library or the symbol is missing. */
#define FORWARD(ret, name, failure, params, args)                                   \
    ret lazy_##name params {                                                        \
        static ret (*real) params;                                                  \
        if (real == NULL) {                                                         \
            void *lib = handle();                                                   \
            if (lib != NULL) *(void **)(&real) = dlsym(lib, #name);                 \
            if (real == NULL) return failure;                                       \
        }                                                                           \
        return real args;                                                           \
    }

FORWARD(unsigned int, elf_version, EV_NONE, (unsigned int version), (version))

const char *lazy_elf_errmsg(int error) {
    static const char *(*real)(int);
    if (real == NULL) {
        void *lib = handle();
        if (lib != NULL) *(void **)(&real) = dlsym(lib, "elf_errmsg");
        if (real == NULL) return load_error != NULL ? load_error : "libelf is not loaded";
    }
    return real(error);
}

FORWARD(int, elf_end, 0, (Elf *elf), (elf))
FORWARD(Elf_Kind, elf_kind, ELF_K_NONE, (Elf *elf), (elf))
FORWARD(int, elf_getphdrnum, -1, (Elf *elf, size_t *dst), (elf, dst))
FORWARD(Elf_Scn *, elf_getscn, NULL, (Elf *elf, size_t index), (elf, index))
FORWARD(int, elf_getshdrnum, -1, (Elf *elf, size_t *dst), (elf, dst))
FORWARD(int, elf_getshdrstrndx, -1, (Elf *elf, size_t *dst), (elf, dst))
FORWARD(Elf_Data *, elf_rawdata, NULL, (Elf_Scn *scn, Elf_Data *data), (scn, data))
FORWARD(Elf_Data *, elf_getdata_rawchunk, NULL, (Elf *elf, int64_t offset, size_t size, Elf_Type type),
        (elf, offset, size, type))
FORWARD(char *, elf_strptr, NULL, (Elf *elf, size_t index, size_t offset), (elf, index, offset))
FORWARD(size_t, gelf_fsize, 0, (Elf *elf, Elf_Type type, size_t count, unsigned int version),
        (elf, type, count, version))
FORWARD(GElf_Ehdr *, gelf_getehdr, NULL, (Elf *elf, GElf_Ehdr *dst), (elf, dst))
FORWARD(GElf_Shdr *, gelf_getshdr, NULL, (Elf_Scn *scn, GElf_Shdr *dst), (scn, dst))
FORWARD(GElf_Phdr *, gelf_getphdr, NULL, (Elf *elf, int index, GElf_Phdr *dst), (elf, index, dst))
FORWARD(GElf_Dyn *, gelf_getdyn, NULL, (Elf_Data *data, int index, GElf_Dyn *dst), (data, index, dst))
static FORWARD(Elf *, elf_begin, NULL, (int fd, Elf_Cmd cmd, Elf *ref), (fd, cmd, ref))
static FORWARD(Elf_Data *, elf_getdata, NULL, (Elf_Scn *scn, Elf_Data *data), (scn, data))
static FORWARD(GElf_Sym *, gelf_getsym, NULL, (Elf_Data *data, int index, GElf_Sym *dst), (data, index, dst))

Elf *celf_begin_read(int fd) { return lazy_elf_begin(fd, ELF_C_READ, NULL); }

long celf_find_symbol(Elf *elf, Elf_Scn *scn, const char *name, GElf_Sym *out) {
    GElf_Shdr shdr;
    if (lazy_gelf_getshdr(scn, &shdr) == NULL || shdr.sh_entsize == 0) return -1;
    Elf_Data *data = lazy_elf_getdata(scn, NULL);
    if (data == NULL) return -1;
    size_t size = lazy_gelf_fsize(elf, ELF_T_SYM, 1, EV_CURRENT);
    if (size == 0) return -1;
    size_t count = data->d_size / size;
    for (size_t i = 1; i < count; i++) {
        GElf_Sym sym;
        if (lazy_gelf_getsym(data, (int)i, &sym) == NULL) return -1;
        if (sym.st_name == 0) continue;
        const char *s = lazy_elf_strptr(elf, shdr.sh_link, sym.st_name);
        if (s != NULL && strcmp(s, name) == 0) {
            *out = sym;
            return (long)i;
        }
    }
    return 0;
}
