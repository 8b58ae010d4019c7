/* The dashboard's local backend: the database file, read only through the library. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "applicability/refresh.h"
#include "cve/patch.h"
#include "cve/sync.h"
#include "fleet/inventory.h"
#include "log.h"
#include "source.h"
#include "store/store.h"
#include "strbuf.h"
#include "banned.h"

#define PATCH_TEXT_MAX (16 * 1024 * 1024)

struct local_source {
	struct dash_source base;
	struct tt_store *store;
};

static struct tt_store *store_of(struct dash_source *s)
{
	return ((struct local_source *)s)->store;
}

static int local_cve_list(struct dash_source *s, const struct cve_list_filter *f, json_t **ret)
{
	return cve_query_list(store_of(s), f, ret);
}

static int local_cve_show(struct dash_source *s, const char *id, json_t **ret)
{
	return cve_query_show(store_of(s), id, ret);
}

static int local_cve_stats(struct dash_source *s, json_t **ret)
{
	return cve_query_stats(store_of(s), ret);
}

static int local_kernel_list(struct dash_source *s, json_t **ret)
{
	return kernel_inventory_list(store_of(s), ret);
}

static int local_kernel_show(struct dash_source *s, const char *name, json_t **ret)
{
	return kernel_inventory_show(store_of(s), name, ret);
}

/* Nodes report to a server; one database knows kernels, not the machines running them. */
static int local_nodes(struct dash_source *s, json_t **ret)
{
	return -EOPNOTSUPP;
}

static int local_node_show(struct dash_source *s, const char *name, json_t **ret)
{
	return -EOPNOTSUPP;
}

static int local_patch(struct dash_source *s, const char *cve, const char *kernel, char **ret_text)
{
	struct strbuf out = STRBUF_INIT;
	struct cve_patch_report rep = {};
	int r;

	if (!s->cfg->linux_repo)
		return -EOPNOTSUPP;
	strbuf_init(&out, PATCH_TEXT_MAX);
	r = cve_patch_write(store_of(s), cve, kernel, s->cfg->linux_repo, &out, &rep);
	cve_patch_report_release(&rep);
	if (r < 0) {
		strbuf_release(&out);
		return r;
	}
	*ret_text = strbuf_detach(&out);
	return *ret_text ? 0 : -ENOMEM;
}

/* A sync writes, so it opens its own read-write connection; the readers keep theirs (WAL). */
static int local_sync(struct dash_source *s, char **ret_summary)
{
	_cleanup_store_ struct tt_store *w = NULL;
	struct cve_sync_opts o = {};
	struct cve_sync_report rep = {};
	int r;

	r = tt_store_open(s->cfg->db_path, 0, &w);
	if (r < 0)
		return r;
	r = cve_sync(w, &o, &rep);
	if (r < 0)
		return r;
	if (rep.up_to_date)
		*ret_summary = strdup_printf("sync: up to date at %.12s", rep.to);
	else
		*ret_summary = strdup_printf("sync: %.12s, %lu added, %lu updated, %lu removed, "
					     "%lu skipped in %.1f s",
					     rep.to, rep.added, rep.updated, rep.removed, rep.skipped,
					     rep.fetch_seconds + rep.sync_seconds);
	return *ret_summary ? 0 : -ENOMEM;
}

static void local_free(struct dash_source *s)
{
	struct local_source *l = (struct local_source *)s;

	tt_store_free(l->store);
	free(l);
}

/* The review workflow is the server's: there is nothing like it in a local database. */
static int local_call(struct dash_source *s, const char *method, const char *path, json_t *body,
		      json_t **ret)
{
	return -EOPNOTSUPP;
}

static int local_get_text(struct dash_source *s, const char *path, char **ret_text)
{
	return -EOPNOTSUPP;
}

static const struct dash_source_ops local_ops = {
	.kind = "local",
	.cve_list = local_cve_list,
	.cve_show = local_cve_show,
	.cve_stats = local_cve_stats,
	.kernel_list = local_kernel_list,
	.kernel_show = local_kernel_show,
	.node_list = local_nodes,
	.node_show = local_node_show,
	.patch = local_patch,
	.call = local_call,
	.get_text = local_get_text,
	.sync = local_sync,
	.free = local_free,
};

int dash_source_local_open(const struct dash_source_config *cfg, struct dash_source **ret)
{
	struct local_source *l;
	int r;

	/* Read-only: the dashboard never creates nor migrates a database by looking at it. */
	if (access(cfg->db_path, F_OK) < 0)
		return log_error_errno(-errno,
				       "no database at '%s': run 'tuxtape cve sync' first, or give --db",
				       cfg->db_path);
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	r = tt_store_open(cfg->db_path, TT_STORE_READONLY, &l->store);
	if (r < 0) {
		free(l);
		return r;
	}
	l->base.ops = &local_ops;
	l->base.cfg = cfg;
	*ret = &l->base;
	return 0;
}

int dash_source_open(const struct dash_source_config *cfg, struct dash_source **ret)
{
	if (cfg->server_url)
		return dash_source_server_open(cfg, ret);
	return dash_source_local_open(cfg, ret);
}

void dash_source_free(struct dash_source *s)
{
	if (s)
		s->ops->free(s);
}
