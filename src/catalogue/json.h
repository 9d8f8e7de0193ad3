// JSON forms of the catalogue's records: the stored body of a resource version
// (its metadata) and the API's views of resources, applications and grants.
// Readers are strict about types: a member of the wrong type is an error
// naming it, so a typo in an API call is not silently dropped.
#pragma once

#include <nlohmann/json.hpp>

#include "catalogue/model.h"

namespace tongban::catalogue {

// The metadata (no id/state/version/timestamps, which live in columns).
nlohmann::json MetadataToJson(const Resource& r);
// Fills r's metadata from j; InvalidArgument naming a mistyped member or an
// unknown enum value.
Status MetadataFromJson(const nlohmann::json& j, Resource& r);

// Everything, for the API.
nlohmann::json ResourceToJson(const Resource& r);
nlohmann::json ApplicationToJson(const Application& a);
nlohmann::json GrantToJson(const Grant& g, int64_t now_ms);

}  // namespace tongban::catalogue
