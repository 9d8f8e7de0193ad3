// ResourceStore: the catalogue itself (目录服务) in tongban's database —
// the classification tree, resources with numbered versions, publish /
// withdraw, the Chinese full-text index of published resources, browse by
// classification and provider. Migration modules "catalogue_resources" and
// "catalogue_search". Thread-safe: every call is one SqlStore transaction or
// session.
//
// Search: terms are computed here (model.h IndexTerms: CJK unigrams and
// bigrams, ASCII words) so every backend finds the same resources. SQLite
// keeps them in an FTS5 table (catalogue_fts, the unicode61 tokenizer over our
// space-separated terms); PostgreSQL and MySQL in catalogue_search_terms
// (term, resource_id) with its primary key as the index. Only published
// resources are indexed; newest first.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "catalogue/model.h"
#include "core/clock.h"
#include "core/result.h"
#include "store/sql_store.h"

namespace tongban::catalogue {

struct SearchQuery {
  std::string text;            // "" = browse
  std::string classification;  // "" = any; a node includes everything below it
  std::string provider_org;    // "" = any
  int offset = 0;
  int limit = 20;  // 1..100
};

struct SearchPage {
  std::vector<Resource> items;  // the published versions
  bool more = false;
};

// Who did it, for the audit trail.
struct Actor {
  std::string id;
  std::string kind = "staff";
  std::string org;
};

class ResourceStore {
 public:
  static std::vector<Migration> Migrations();
  ResourceStore(SqlStore& store, Clock& clock);

  // ---- classification tree ----
  // Adds or renames; the parent must exist. InvalidArgument for a bad code.
  Status PutClassification(const Classification& c, const Actor& actor);
  // Refused (kConflict) while children or resources use it.
  Status DeleteClassification(std::string_view code, const Actor& actor);
  Result<std::vector<Classification>> ListClassifications();

  // ---- resources ----
  // Registers a draft with the next code in its classification (version 1).
  Result<Resource> Create(Resource r, const Actor& actor);
  // Saves new metadata as the next version (the published version stays what
  // searchers see until the next Publish). kConflict when `expected_version`
  // is not the latest (two editors).
  Result<Resource> Update(int64_t id, Resource r, int expected_version, const Actor& actor);
  // Publishes the latest version (fills release_date with today when empty)
  // and (re)indexes it.
  Result<Resource> Publish(int64_t id, const Actor& actor);
  // Takes it out of search and browse; grants stay until revoked.
  Result<Resource> Withdraw(int64_t id, const Actor& actor);

  // The latest version (owners, reviewers).
  Result<Resource> Get(int64_t id);
  // The published version (everyone else); kNotFound when not published.
  Result<Resource> GetPublished(int64_t id);
  Result<Resource> FindPublishedByCode(std::string_view code);
  Result<Resource> GetVersion(int64_t id, int version);
  Result<std::vector<Resource>> ListByProvider(std::string_view provider_org);  // latest versions
  // Resources whose latest version is not published yet (review queue).
  Result<std::vector<Resource>> ListPendingReview();
  Result<SearchPage> Search(const SearchQuery& query);
  // A published resource serving `kind` (the newest), for the query services.
  Result<Resource> FindBaseResource(BaseKind kind);

  SqlStore& store() { return store_; }

 private:
  Status Index(soci::session& sql, const Resource& r);
  Status Unindex(soci::session& sql, int64_t id);
  Result<std::vector<int64_t>> SearchIds(soci::session& sql, const std::vector<std::string>& terms,
                                         int offset, int limit);

  SqlStore& store_;
  Clock& clock_;
};

}  // namespace tongban::catalogue
