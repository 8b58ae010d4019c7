/* Default locations following the XDG base directory conventions. */
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "paths.h"
#include "strbuf.h"

static const char *home_dir(void)
{
	const char *h = getenv("HOME");
	struct passwd *pw;

	if (h && *h == '/')
		return h;
	pw = getpwuid(getuid());
	return pw && pw->pw_dir ? pw->pw_dir : "/";
}

static int xdg_dir(const char *env, const char *fallback, char **ret)
{
	const char *e = getenv(env);
	char *p;

	if (e && *e == '/')
		p = strdup_printf("%s/tuxtape", e);
	else
		p = strdup_printf("%s/%s/tuxtape", home_dir(), fallback);
	if (!p)
		return -ENOMEM;
	*ret = p;
	return 0;
}

int tt_path_data_dir(char **ret)
{
	return xdg_dir("XDG_DATA_HOME", ".local/share", ret);
}

int tt_path_cache_dir(char **ret)
{
	return xdg_dir("XDG_CACHE_HOME", ".cache", ret);
}

int tt_path_default_db(char **ret)
{
	const char *e = getenv("TUXTAPE_DB");
	char *dir, *p;
	int r;

	if (e && *e) {
		p = strdup(e);
		if (!p)
			return -ENOMEM;
		*ret = p;
		return 0;
	}
	r = tt_path_data_dir(&dir);
	if (r < 0)
		return r;
	p = strdup_printf("%s/tuxtape.db", dir);
	free(dir);
	if (!p)
		return -ENOMEM;
	*ret = p;
	return 0;
}
