// The directory's SQL schema as SqlStore migrations (module "directory"), for
// SQLite, PostgreSQL and MySQL. src/app/ passes them to SqlStore::Migrate together
// with the other modules' migrations before it opens the Directory.
#pragma once

#include <vector>

#include "store/sql_store.h"

namespace tongban::directory {

std::vector<Migration> DirectoryMigrations();

}  // namespace tongban::directory
