// The matter catalogue (事项目录): matters with their materials and steps, kept
// in versions — saving a matter writes a new version, and a running case keeps
// the version it was registered under. CSV and .xlsx import/export for the
// catalogue. Used by the engine (registering a case), the API and the CLI.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <istream>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "approval/model.h"
#include "core/clock.h"
#include "core/result.h"
#include "store/sql_store.h"

namespace tongban::approval {

// Shapes of the national codes (gov-domain-notes §1.2, §4). InvalidArgument naming the rule.
Status CheckBasicCode(std::string_view code);      // 12 characters, digits and upper-case letters
// 实施编码: 18-char USCC + 1 char + 12-char basic code; a case number starts with it.
inline constexpr size_t kImplementCodeLength = 31;
Status CheckImplementCode(std::string_view code);  // valid USCC (GB 32100) + 1 char + basic code
Status CheckDivisionCode(std::string_view code);   // GB/T 2260 6 digits, or 12 digits
// Every field of a matter: codes, name, limits, steps (codes unique, roles known), materials.
Status CheckMatter(const Matter& matter);

struct MatterFilter {
  std::string orgcoding;  // "" = any
  std::string text;       // part of the name or a code; "" = any
  bool enabled_only = false;
  int64_t offset = 0;
  int64_t limit = 50;
};

class MatterCatalogue {
 public:
  static std::vector<Migration> Migrations();  // module "approval_matters"
  MatterCatalogue(SqlStore& store, Clock& clock);

  // Writes `matter` as the next version of its implement code (version 1 when
  // new) and returns it with its version set. Checked with CheckMatter.
  Result<Matter> Save(Matter matter);
  // Enables or disables the matter (a disabled matter takes no new cases). The
  // switch belongs to the matter, not to a version: Latest and List report it;
  // a new version is saved with the `enabled` it carries.
  Status SetEnabled(std::string_view implement_code, bool enabled);
  // The latest version; errc::kNotFound when unknown.
  Result<Matter> Latest(std::string_view implement_code);
  // The latest version as Latest reads it, from memory for up to kCurrentTtl
  // (registering a case asks on every registration). A save or enable on this
  // node is seen at once; one on another node within kCurrentTtl.
  static constexpr std::chrono::milliseconds kCurrentTtl{1000};
  Result<std::shared_ptr<const Matter>> Current(std::string_view implement_code);
  // One version (what a running case uses). Cached: versions never change.
  // Its `enabled` is the value it was saved with; ask Latest whether the
  // matter takes new cases.
  Result<std::shared_ptr<const Matter>> Version(std::string_view implement_code, int version);
  // Whether `sha256` is the template (template_sha256) of a material in the
  // latest version of an enabled matter: the only files the public hall serves.
  Result<bool> IsEnabledTemplate(std::string_view sha256);
  // Latest versions, by implement code.
  Result<std::vector<Matter>> List(const MatterFilter& filter, int64_t* total = nullptr);

  // Asked of every parsed row before anything is saved (the caller's rights
  // over the row); an error refuses the whole import, its message prefixed
  // with the row's line and implement code.
  using ImportCheck = std::function<Status(const Matter& row)>;
  // CSV: one row per matter; materials and steps in JSON-valued columns
  // (docs/approval-matters.md). All rows or none; returns how many saved.
  Result<int64_t> ImportCsv(std::istream& in, const ImportCheck& check = nullptr);
  Status ExportCsv(std::ostream& out);
  // The same table as an .xlsx workbook.
  Result<int64_t> ImportXlsx(std::string_view bytes, const ImportCheck& check = nullptr);
  Result<std::string> ExportXlsx();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace tongban::approval
