/*
 * Pack files read directly: the index (v2) finds an object's offset, the pack entry's header
 * gives its type and size, OFS_DELTA/REF_DELTA chains are walked down to their base, and
 * each link is inflated with libdeflate and applied. Every length and offset read from the
 * files is checked against the mapping before use; anything unexpected answers "not here".
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <libdeflate.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "git/pack.h"
#include "log.h"
#include "macro.h"
#include "strbuf.h"
#include "banned.h"

enum {
	OBJ_OFS_DELTA = 6,
	OBJ_REF_DELTA = 7,
};

#define IDX_HEADER 8
#define IDX_FANOUT (256 * 4)
#define PACK_HEADER 12
#define PACK_TRAILER 20
/* Deeper chains than git ever writes by default (50) or with --aggressive (250). */
#define MAX_CHAIN 4096
/* Larger objects are left to libgit2, which streams them. */
#define MAX_OBJECT (1u << 30)

struct map {
	const uint8_t *p;
	size_t len;
};

struct pack {
	struct map idx, pack;
	uint32_t n;
	const uint8_t *fanout, *oids, *off32, *off64;
	size_t n_off64;
};

struct tt_packs {
	struct pack *packs;
	size_t n;
};

struct buf {
	uint8_t *p;
	size_t cap;
};

/*
 * Delta bases, kept per cursor: in the vulns repository's pack, 16,149 objects of one
 * incremental sync rest on only 1,704 distinct bases, which without a cache were inflated
 * 10,607 times (94 MB instead of 7 MB).
 */
#define CACHE_SLOTS 4096
#define CACHE_MAX_BYTES (32u << 20)

struct cache_entry {
	const struct pack *pk;
	uint64_t off;
	uint8_t *data;
	size_t len;
	int type;
};

/* One delta of a chain, as its entry header gave it. */
struct link {
	uint64_t off, data, size;
};

struct tt_pack_cursor {
	struct libdeflate_decompressor *d;
	struct buf obj, next, delta;
	struct link chain[MAX_CHAIN];
	struct cache_entry cache[CACHE_SLOTS];
	size_t cache_bytes;
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static void unmap(struct map *m)
{
	if (m->p)
		munmap((void *)m->p, m->len);
	m->p = NULL;
}

static int map_file(const char *path, struct map *ret)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	void *p;

	if (fd < 0 || fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size <= 0)
		return -EBADMSG;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	ret->p = p;
	ret->len = (size_t)st.st_size;
	return 0;
}

/* Maps IDX_PATH and its pack; -EBADMSG for anything this reader does not take. */
static int pack_open(const char *idx_path, struct pack *pk)
{
	static const uint8_t idx_magic[4] = { 0xff, 't', 'O', 'c' };
	_cleanup_free_ char *pack_path = NULL;
	size_t fixed;
	int r;

	memset(pk, 0, sizeof(*pk));
	r = map_file(idx_path, &pk->idx);
	if (r < 0)
		return r;
	if (pk->idx.len < IDX_HEADER + IDX_FANOUT || memcmp(pk->idx.p, idx_magic, 4) != 0 ||
	    be32(pk->idx.p + 4) != 2)
		return -EBADMSG;
	pk->fanout = pk->idx.p + IDX_HEADER;
	pk->n = be32(pk->fanout + 255 * 4);
	/* names, CRCs, 32-bit offsets, then the 64-bit offsets and two checksums */
	fixed = IDX_HEADER + IDX_FANOUT + (size_t)pk->n * (TT_PACK_OID_LEN + 4 + 4) +
		2 * TT_PACK_OID_LEN;
	if (pk->idx.len < fixed || (pk->idx.len - fixed) % 8 != 0)
		return -EBADMSG;
	for (int b = 1; b < 256; b++)
		if (be32(pk->fanout + 4 * b) < be32(pk->fanout + 4 * (b - 1)))
			return -EBADMSG;
	pk->oids = pk->fanout + IDX_FANOUT;
	pk->off32 = pk->oids + (size_t)pk->n * (TT_PACK_OID_LEN + 4);
	pk->off64 = pk->off32 + (size_t)pk->n * 4;
	pk->n_off64 = (pk->idx.len - fixed) / 8;

	pack_path = strdup_printf("%.*s.pack", (int)(strlen(idx_path) - 4), idx_path);
	if (!pack_path)
		return -ENOMEM;
	r = map_file(pack_path, &pk->pack);
	if (r < 0)
		return r;
	if (pk->pack.len < PACK_HEADER + PACK_TRAILER || memcmp(pk->pack.p, "PACK", 4) != 0 ||
	    (be32(pk->pack.p + 4) != 2 && be32(pk->pack.p + 4) != 3) ||
	    be32(pk->pack.p + 8) != pk->n)
		return -EBADMSG;
	return 0;
}

static void pack_close(struct pack *pk)
{
	unmap(&pk->idx);
	unmap(&pk->pack);
}

int tt_packs_open(const char *objects_dir, struct tt_packs **ret)
{
	_cleanup_free_ char *pattern = strdup_printf("%s/pack/pack-*.idx", objects_dir);
	struct tt_packs *p;
	glob_t g = {};
	int r;

	if (!pattern)
		return -ENOMEM;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	r = glob(pattern, 0, NULL, &g);
	if (r == 0 && g.gl_pathc > 0) {
		p->packs = calloc(g.gl_pathc, sizeof(*p->packs));
		if (!p->packs) {
			globfree(&g);
			free(p);
			return -ENOMEM;
		}
		for (size_t i = 0; i < g.gl_pathc; i++) {
			struct pack *pk = &p->packs[p->n];

			r = pack_open(g.gl_pathv[i], pk);
			if (r < 0) {
				log_debug("%s: not read directly (%s); libgit2 reads it",
					  g.gl_pathv[i], strerror(-r));
				pack_close(pk);
				continue;
			}
			p->n++;
		}
	}
	globfree(&g);
	*ret = p;
	return 0;
}

void tt_packs_free(struct tt_packs *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		pack_close(&p->packs[i]);
	free(p->packs);
	free(p);
}

size_t tt_packs_count(const struct tt_packs *p)
{
	return p ? p->n : 0;
}

int tt_pack_cursor_new(struct tt_pack_cursor **ret)
{
	struct tt_pack_cursor *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->d = libdeflate_alloc_decompressor();
	if (!c->d) {
		free(c);
		return -ENOMEM;
	}
	*ret = c;
	return 0;
}

void tt_pack_cursor_free(struct tt_pack_cursor *c)
{
	if (!c)
		return;
	libdeflate_free_decompressor(c->d);
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		free(c->cache[i].data);
	free(c->obj.p);
	free(c->next.p);
	free(c->delta.p);
	free(c);
}

static int buf_reserve(struct buf *b, size_t n)
{
	uint8_t *p;
	size_t cap;

	if (n <= b->cap && b->p)
		return 0;
	cap = n < 4096 ? 4096 : n + n / 2;
	p = realloc(b->p, cap);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

/* The object's offset in PK, or false when PK does not hold OID. */
static bool pack_find(const struct pack *pk, const unsigned char *oid, uint64_t *ret_off)
{
	uint32_t lo = oid[0] ? be32(pk->fanout + 4 * (oid[0] - 1)) : 0;
	uint32_t hi = be32(pk->fanout + 4 * oid[0]);

	if (hi > pk->n || lo > hi)
		return false;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int cmp = memcmp(pk->oids + (size_t)mid * TT_PACK_OID_LEN, oid, TT_PACK_OID_LEN);

		if (cmp == 0) {
			uint32_t v = be32(pk->off32 + (size_t)mid * 4);

			if (v & 0x80000000u) {
				v &= 0x7fffffffu;
				if (v >= pk->n_off64)
					return false;
				*ret_off = be64(pk->off64 + (size_t)v * 8);
			} else {
				*ret_off = v;
			}
			return *ret_off >= PACK_HEADER && *ret_off < pk->pack.len - PACK_TRAILER;
		}
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/*
 * Parses the entry header at OFF: its type, inflated size, where its compressed data starts,
 * and for a delta the offset of its base. False for anything malformed.
 */
static bool entry_header(const struct pack *pk, uint64_t off, int *ret_type, uint64_t *ret_size,
			 uint64_t *ret_data, uint64_t *ret_base)
{
	const uint8_t *p = pk->pack.p + off, *end = pk->pack.p + pk->pack.len - PACK_TRAILER;
	uint64_t size;
	unsigned shift = 4;
	uint8_t c;

	if (p >= end)
		return false;
	c = *p++;
	*ret_type = (c >> 4) & 7;
	size = c & 15;
	while (c & 0x80) {
		if (p >= end || shift > 57)
			return false;
		c = *p++;
		size |= (uint64_t)(c & 0x7f) << shift;
		shift += 7;
	}
	if (size > MAX_OBJECT)
		return false;
	*ret_size = size;
	if (*ret_type == OBJ_OFS_DELTA) {
		uint64_t rel;

		if (p >= end)
			return false;
		c = *p++;
		rel = c & 0x7f;
		while (c & 0x80) {
			if (p >= end || rel >= (UINT64_C(1) << 56))
				return false;
			c = *p++;
			rel = ((rel + 1) << 7) | (c & 0x7f);
		}
		if (rel == 0 || rel > off - PACK_HEADER)
			return false;
		*ret_base = off - rel;
	} else if (*ret_type == OBJ_REF_DELTA) {
		if ((size_t)(end - p) < TT_PACK_OID_LEN || !pack_find(pk, p, ret_base))
			return false; /* a base in another pack: libgit2's business */
		p += TT_PACK_OID_LEN;
	} else if (*ret_type < TT_PACK_COMMIT || *ret_type > TT_PACK_TAG) {
		return false;
	}
	*ret_data = (uint64_t)(p - pk->pack.p);
	return true;
}

/* Inflates the SIZE-byte contents starting at DATA into B. */
static int inflate_to(struct tt_pack_cursor *c, const struct pack *pk, uint64_t data,
		      uint64_t size, struct buf *b)
{
	size_t in_len = pk->pack.len - PACK_TRAILER - data, out_len = 0;
	enum libdeflate_result res;
	int r = buf_reserve(b, size ? size : 1);

	if (r < 0)
		return r;
	res = libdeflate_zlib_decompress_ex(c->d, pk->pack.p + data, in_len, b->p, size, NULL,
					    &out_len);
	return res == LIBDEFLATE_SUCCESS && out_len == size ? 0 : -EBADMSG;
}

static bool delta_varint(const uint8_t **p, const uint8_t *end, uint64_t *ret)
{
	uint64_t v = 0;
	unsigned shift = 0;
	uint8_t c;

	do {
		if (*p >= end || shift > 63)
			return false;
		c = *(*p)++;
		v |= (uint64_t)(c & 0x7f) << shift;
		shift += 7;
	} while (c & 0x80);
	*ret = v;
	return true;
}

/* Applies DELTA to BASE into OUT (*RET_LEN bytes); -EBADMSG for a delta that does not fit. */
static int delta_apply(const uint8_t *base, size_t base_len, const uint8_t *delta,
		       size_t delta_len, struct buf *out, size_t *ret_len)
{
	const uint8_t *p = delta, *end = delta + delta_len;
	uint64_t src_size, dst_size;
	uint8_t *o, *oend;
	int r;

	if (!delta_varint(&p, end, &src_size) || !delta_varint(&p, end, &dst_size) ||
	    src_size != base_len || dst_size > MAX_OBJECT)
		return -EBADMSG;
	r = buf_reserve(out, dst_size ? dst_size : 1);
	if (r < 0)
		return r;
	o = out->p;
	oend = o + dst_size;
	while (p < end) {
		uint8_t op = *p++;

		if (op & 0x80) {
			/* copy from the base: offset and size bytes present per bit */
			size_t off = 0, n = 0;

			for (int k = 0; k < 4; k++)
				if (op & (1u << k)) {
					if (p >= end)
						return -EBADMSG;
					off |= (size_t)*p++ << (8 * k);
				}
			for (int k = 0; k < 3; k++)
				if (op & (1u << (4 + k))) {
					if (p >= end)
						return -EBADMSG;
					n |= (size_t)*p++ << (8 * k);
				}
			if (n == 0)
				n = 0x10000;
			if (off > base_len || n > base_len - off || n > (size_t)(oend - o))
				return -EBADMSG;
			memcpy(o, base + off, n);
			o += n;
		} else if (op) {
			/* insert the next OP bytes */
			if (op > (size_t)(end - p) || op > (size_t)(oend - o))
				return -EBADMSG;
			memcpy(o, p, op);
			o += op;
			p += op;
		} else {
			return -EBADMSG; /* reserved */
		}
	}
	if (o != oend)
		return -EBADMSG;
	*ret_len = dst_size;
	return 0;
}

static struct cache_entry *cache_slot(struct tt_pack_cursor *c, const struct pack *pk,
				      uint64_t off)
{
	uint64_t h = (off ^ (uint64_t)(uintptr_t)pk) * UINT64_C(0x9e3779b97f4a7c15);

	return &c->cache[h >> 52]; /* the top 12 bits: CACHE_SLOTS */
}

/* Copies the cached object at OFF into C->obj; false when it is not cached. */
static bool cache_get(struct tt_pack_cursor *c, const struct pack *pk, uint64_t off,
		      int *ret_type, size_t *ret_len)
{
	struct cache_entry *e = cache_slot(c, pk, off);

	if (!e->data || e->pk != pk || e->off != off || buf_reserve(&c->obj, e->len + 1) < 0)
		return false;
	memcpy(c->obj.p, e->data, e->len);
	*ret_type = e->type;
	*ret_len = e->len;
	return true;
}

/* Keeps a copy of C->obj as the object at OFF, evicting whatever held its slot. */
static void cache_put(struct tt_pack_cursor *c, const struct pack *pk, uint64_t off, int type,
		      size_t len)
{
	struct cache_entry *e = cache_slot(c, pk, off);
	uint8_t *copy;

	if (e->data) {
		c->cache_bytes -= e->len;
		free(e->data);
		e->data = NULL;
	}
	if (len > CACHE_MAX_BYTES - c->cache_bytes || !(copy = malloc(len ? len : 1)))
		return;
	memcpy(copy, c->obj.p, len);
	*e = (struct cache_entry){ .pk = pk, .off = off, .data = copy, .len = len, .type = type };
	c->cache_bytes += len;
}

/* Reads the object at OFF in PK into C->obj: 0, -EBADMSG or -ENOMEM. */
static int read_at(const struct pack *pk, struct tt_pack_cursor *c, uint64_t off,
		   enum tt_pack_type *ret_type, size_t *ret_len)
{
	uint64_t size, data, base = 0;
	size_t n = 0, len;
	int type, r;

	/* Walk down to the base, or to a cached link, remembering each delta. */
	for (;;) {
		if (n > 0 && cache_get(c, pk, off, &type, &len))
			break;
		if (!entry_header(pk, off, &type, &size, &data, &base))
			return -EBADMSG;
		if (type != OBJ_OFS_DELTA && type != OBJ_REF_DELTA) {
			r = inflate_to(c, pk, data, size, &c->obj);
			if (r < 0)
				return r;
			len = (size_t)size;
			if (n > 0)
				cache_put(c, pk, off, type, len);
			break;
		}
		if (n == MAX_CHAIN)
			return -EBADMSG;
		c->chain[n++] = (struct link){ off, data, size };
		off = base;
	}
	/* Then apply the deltas from there up; each result but the last is a base too. */
	while (n > 0) {
		const struct link *l = &c->chain[--n];
		struct buf t;

		r = inflate_to(c, pk, l->data, l->size, &c->delta);
		if (r < 0)
			return r;
		r = delta_apply(c->obj.p, len, c->delta.p, (size_t)l->size, &c->next, &len);
		if (r < 0)
			return r;
		t = c->obj;
		c->obj = c->next;
		c->next = t;
		if (n > 0)
			cache_put(c, pk, l->off, type, len);
	}
	*ret_type = (enum tt_pack_type)type;
	*ret_len = len;
	return 0;
}

int tt_pack_read(const struct tt_packs *p, struct tt_pack_cursor *c, const unsigned char *oid,
		 enum tt_pack_type *ret_type, const char **ret_data, size_t *ret_len)
{
	if (!p)
		return 0;
	for (size_t i = 0; i < p->n; i++) {
		uint64_t off;
		int r;

		if (!pack_find(&p->packs[i], oid, &off))
			continue;
		r = read_at(&p->packs[i], c, off, ret_type, ret_len);
		if (r == -ENOMEM)
			return r;
		if (r < 0) {
			log_debug("pack entry at %llu cannot be read directly; libgit2 reads it",
				  (unsigned long long)off);
			return 0;
		}
		*ret_data = (const char *)c->obj.p;
		return 1;
	}
	return 0;
}
