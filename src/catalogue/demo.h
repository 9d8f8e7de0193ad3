// The catalogue demo: on a fresh installation, the catalogue app with its
// roles, two departments (a provider, a user) with one staff account each plus
// a catalogue admin, a classification tree (类/项/目), the three base
// resources (人口, 法人, 空间) and two theme resources, all published, and a
// few base rows, so `make run` shows a working catalogue. `serve` calls it
// after Directory::SeedDemo.
#pragma once

#include <string>
#include <vector>

#include "catalogue/base.h"
#include "catalogue/resources.h"
#include "core/random.h"
#include "core/result.h"
#include "directory/directory.h"

namespace tongban::catalogue {

inline constexpr std::string_view kDemoProviderOrg = "001091";  // 演示市公安局
inline constexpr std::string_view kDemoUserOrg = "001092";      // 演示市民政局

struct DemoAccount {
  std::string role;
  std::string loginname;
  std::string password;  // in clear, shown once; "" when the user existed
  std::string orgcoding;
};

struct DemoCatalogue {
  bool created = false;  // false when any classification existed (nothing done)
  std::vector<DemoAccount> accounts;
  int resources = 0;
};

Result<DemoCatalogue> SeedCatalogueDemo(directory::Directory& directory, ResourceStore& resources,
                                        BaseResources& base, Random* random = nullptr);

}  // namespace tongban::catalogue
