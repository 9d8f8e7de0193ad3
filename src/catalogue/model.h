// The catalogue's domain (目录服务 and 共享, docs/design/catalogue.md): resources
// with the core metadata of 政务信息资源目录编制指南, the classification tree
// (类/项/目/细目), the resource-code rule, sharing applications and grants, and
// the pure helpers the stores and the API share (search terms, masking).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace tongban::catalogue {

// The directory app whose roles say who may do what here.
inline constexpr std::string_view kAppCode = "catalogue";
inline constexpr std::string_view kRoleAdmin = "admin";        // 目录管理: tree, review, audit
inline constexpr std::string_view kRoleProvider = "provider";  // 提供方: register, decide
inline constexpr std::string_view kRoleUser = "user";          // 使用方: search, apply, query

// 共享类型.
enum class ShareType { kUnconditional, kConditional, kNone };
std::string_view ShareTypeName(ShareType t);  // "unconditional" / "conditional" / "none"
std::optional<ShareType> ParseShareType(std::string_view name);

// 共享方式: an API grant (query services) or an exchange task (库表交换).
enum class ShareMode { kApi, kExchange };
std::string_view ShareModeName(ShareMode m);  // "api" / "exchange"
std::optional<ShareMode> ParseShareMode(std::string_view name);

// 开放属性.
enum class OpenAttr { kOpen, kConditional, kClosed };
std::string_view OpenAttrName(OpenAttr a);  // "open" / "conditional" / "closed"
std::optional<OpenAttr> ParseOpenAttr(std::string_view name);

enum class ResourceState { kDraft, kPublished, kWithdrawn };
std::string_view ResourceStateName(ResourceState s);  // "draft" / "published" / "withdrawn"
std::optional<ResourceState> ParseResourceState(std::string_view name);

// Which base-resource query service serves a resource, if any.
enum class BaseKind { kNone, kPerson, kLegalPerson, kPlace };
std::string_view BaseKindName(BaseKind k);  // "" / "person" / "legal_person" / "place"
std::optional<BaseKind> ParseBaseKind(std::string_view name);

// 类 (1 digit), 项 (2), 目 (3), 细目 (1..6 digits): `code` is the whole path's
// digits, so a level-3 node "101001" lies under "101" and "1".
struct Classification {
  std::string code;
  std::string name;
  std::string parent;  // "" for a 类
  int level = 1;       // 1..4
};
// The level of a classification code by its length (1, 3, 6, 7..12), or 0.
int ClassificationLevel(std::string_view code);
// The parent's code ("" for a 类; the 目 of a 细目).
std::string ClassificationParent(std::string_view code);

// 信息项. `code` is the field's key in query answers ([a-z][a-z0-9_]{0,39});
// `type` one of the 编制指南 letters: C 字符型, N 数值型, Y 货币型, D 日期型,
// T 日期时间型, L 逻辑型, M 备注型, B 二进制型, I 整型, F 浮点型.
struct InfoItem {
  std::string code;
  std::string name;
  std::string type = "C";
  friend bool operator==(const InfoItem&, const InfoItem&) = default;
};

struct Resource {
  int64_t id = 0;
  std::string code;  // 前段码 (classification) + "/" + 后段码 (6-digit sequence)
  std::string classification;
  std::string name;
  std::string provider_org;   // the directory orgcoding of the 提供方
  std::string provider_name;  // 提供方
  std::string provider_code;  // 提供方代码: USCC or GB 11714 org code
  std::string abstract_text;  // 摘要
  std::string format;         // 格式: 数据库 / 电子表格 / 接口 / 文件 …
  std::vector<InfoItem> items;
  ShareType share_type = ShareType::kUnconditional;
  std::string share_condition;  // 共享条件 (required when conditional or none)
  ShareMode share_mode = ShareMode::kApi;
  OpenAttr open_attr = OpenAttr::kClosed;
  std::string update_cycle;  // 更新周期: 实时 / 每日 / 每周 / 每月 / 每季度 / 每年 / 不定期
  std::string release_date;  // 发布日期 YYYY-MM-DD ("" until first published)
  std::vector<std::string> related_codes;  // 关联资源代码
  BaseKind base_kind = BaseKind::kNone;
  int64_t exchange_resource_id = 0;  // the provider's exchange resource (share mode exchange)
  ResourceState state = ResourceState::kDraft;
  int version = 1;            // the latest saved version
  int published_version = 0;  // 0 = never published
  int64_t created_ms = 0;
  int64_t updated_ms = 0;

  const InfoItem* Item(std::string_view code) const;
};

// The rule's shape: classification digits (a valid code of level ≥ 1), "/",
// 1..10 digits. Our own codes always carry 6.
bool IsValidResourceCode(std::string_view code);
bool IsValidItemCode(std::string_view code);
bool IsValidItemType(std::string_view type);
bool IsValidDate(std::string_view yyyy_mm_dd);
// Every metadata check of a resource about to be saved (not the code, which the
// store assigns): names the first wrong field in Chinese.
Status ValidateResource(const Resource& r);

// ---- sharing ----

enum class ApplicationState { kPending, kApproved, kRefused, kCancelled };
std::string_view ApplicationStateName(ApplicationState s);  // pending/approved/refused/cancelled
std::optional<ApplicationState> ParseApplicationState(std::string_view name);

struct Application {
  int64_t id = 0;
  int64_t resource_id = 0;
  std::string resource_code;
  std::string resource_name;
  std::string provider_org;
  std::string applicant;      // userid
  std::string applicant_org;  // orgcoding
  std::string app;            // servicecode of the department system that will call; "" = staff only
  std::string purpose;
  std::string legal_basis;
  std::vector<std::string> fields;  // wanted
  int64_t subscriber_resource_id = 0;  // exchange mode: where the rows should go
  ApplicationState state = ApplicationState::kPending;
  std::string decided_by;
  std::vector<std::string> approved_fields;
  std::string reason;  // the provider's reason (required on refusal)
  int64_t grant_id = 0;
  int64_t created_ms = 0;
  int64_t decided_ms = 0;
};

enum class GrantKind { kApi, kExchange };

struct Grant {
  int64_t id = 0;
  int64_t application_id = 0;
  int64_t resource_id = 0;
  std::string resource_name;
  BaseKind base_kind = BaseKind::kNone;
  std::string grantee_org;
  std::string grantee_app;  // "" = staff of grantee_org in the browser only
  std::vector<std::string> fields;
  bool unmasked = false;  // ID numbers and mobiles in clear
  GrantKind kind = GrantKind::kApi;
  int64_t exchange_task_id = 0;
  int64_t expires_ms = 0;
  int64_t revoked_ms = 0;  // 0 = not revoked
  std::string revoked_by;
  std::string revoke_reason;
  int64_t created_ms = 0;

  bool ActiveAt(int64_t now_ms) const { return revoked_ms == 0 && now_ms < expires_ms; }
  bool Allows(std::string_view field) const;
};

// ---- helpers ----

// Search terms of a text: each ASCII letter/digit run lowercased as one term,
// each CJK run as its single characters and its overlapping bigrams (Chinese
// has no spaces: a bigram index finds any two-character word). Deduplicated,
// in first-seen order.
std::vector<std::string> IndexTerms(std::string_view text);
// The terms a query must all match: ASCII runs as words; a CJK run of one
// character as that character, of more as its bigrams.
std::vector<std::string> QueryTerms(std::string_view text);
// Filter terms kept in the same index: the classification and its ancestors,
// the provider org.
std::string ClassificationTerm(std::string_view code);  // "zc" + code
std::string ProviderTerm(std::string_view orgcoding);   // "zo" + lowercased orgcoding

// "110105194912310029" -> "110105********0029"; shorter keeps first and last 2.
std::string MaskIdNumber(std::string_view id);
// "13800138000" -> "138****8000".
std::string MaskMobile(std::string_view mobile);

// "a,b,c" -> {"a","b","c"} (empty pieces dropped, trimmed of spaces).
std::vector<std::string> SplitFields(std::string_view text);
std::string JoinFields(const std::vector<std::string>& fields);

}  // namespace tongban::catalogue
