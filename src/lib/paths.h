/* Where tuxtape keeps its data: the database, the vulns mirror, caches. */
#pragma once

/* $TUXTAPE_DB, else $XDG_DATA_HOME/tuxtape/tuxtape.db, else ~/.local/share/tuxtape/tuxtape.db. */
int tt_path_default_db(char **ret);
/* The directory holding tuxtape's data ($XDG_DATA_HOME/tuxtape). */
int tt_path_data_dir(char **ret);
/* $XDG_CACHE_HOME/tuxtape, else ~/.cache/tuxtape. */
int tt_path_cache_dir(char **ret);
