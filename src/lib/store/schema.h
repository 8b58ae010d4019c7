/* The database schema as an ordered list of migrations; index i brings version i to i+1. */
#pragma once

#include <stddef.h>

extern const char *const tt_schema_migrations[];
extern const size_t tt_schema_n_migrations;
