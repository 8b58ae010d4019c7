/* The state database's schema as ordered migrations; index i brings version i to i+1. */
#pragma once

#include <stddef.h>

extern const char *const srv_schema_migrations[];
extern const size_t srv_schema_n_migrations;
