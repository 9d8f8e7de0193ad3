// TicketStore::Exchange composed of the primitives, for stores without a
// server-side script (the memory store), and the record helpers it shares
// with RedisTicketStore's argument checks.
#include "store/ticket_store.h"

#include <charconv>

#include "store/ticket_store_checks.h"

namespace tongban {
namespace ticket_store_checks {

std::vector<std::string_view> Fields(std::string_view record) {
  std::vector<std::string_view> fields;
  for (;;) {
    size_t bar = record.find('|');
    fields.push_back(record.substr(0, bar));
    if (bar == std::string_view::npos) return fields;
    record.remove_prefix(bar + 1);
  }
}

std::string FillTemplate(std::string_view tmpl, const std::vector<std::string_view>& fields) {
  std::string out;
  out.reserve(tmpl.size() + 96);
  for (size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] == '{' && i + 2 < tmpl.size() && tmpl[i + 1] >= '0' && tmpl[i + 1] <= '9' &&
        tmpl[i + 2] == '}') {
      size_t n = static_cast<size_t>(tmpl[i + 1] - '0');
      if (n < fields.size()) out.append(fields[n]);
      i += 2;
      continue;
    }
    out.push_back(tmpl[i]);
  }
  return out;
}

Status Exchange(const TicketExchange& op) {
  if (!op.mark_key.empty()) {
    TB_RETURN_IF_ERROR(Key(op.mark_key));
    TB_RETURN_IF_ERROR(Ttl(op.mark_ttl));
  }
  TB_RETURN_IF_ERROR(Key(op.redeem_key));
  TB_RETURN_IF_ERROR(Key(op.put_key));
  TB_RETURN_IF_ERROR(Value(op.put_template));
  TB_RETURN_IF_ERROR(Value(op.set_member));
  TB_RETURN_IF_ERROR(Ttl(op.put_ttl));
  TB_RETURN_IF_ERROR(Ttl(op.set_ttl));
  if (op.set_prefix.empty()) {
    return Error::InvalidArgument("ticket store: exchange without a set prefix");
  }
  auto field_ok = [](int n) { return n >= 0 && n <= 9; };
  if (!field_ok(op.expiry_field) || !field_ok(op.owner_field)) {
    return Error::InvalidArgument("ticket store: exchange field out of range");
  }
  for (const auto& [n, text] : op.require) {
    if (!field_ok(n)) return Error::InvalidArgument("ticket store: exchange field out of range");
  }
  return Status::Ok();
}

TicketExchangeResult::Outcome Judge(const TicketExchange& op,
                                    const std::vector<std::string_view>& fields) {
  using Outcome = TicketExchangeResult::Outcome;
  for (const auto& [n, text] : op.require) {
    if (static_cast<size_t>(n) >= fields.size() || fields[n] != text) return Outcome::kRefused;
  }
  if (static_cast<size_t>(op.expiry_field) >= fields.size() ||
      static_cast<size_t>(op.owner_field) >= fields.size() || fields[op.owner_field].empty()) {
    return Outcome::kRefused;
  }
  std::string_view expiry = fields[op.expiry_field];
  int64_t expires_ms = 0;
  auto [end, ec] = std::from_chars(expiry.data(), expiry.data() + expiry.size(), expires_ms);
  if (ec != std::errc() || end != expiry.data() + expiry.size() || expires_ms <= op.now_ms) {
    return Outcome::kRefused;
  }
  return Outcome::kIssued;
}

}  // namespace ticket_store_checks

Status TicketStore::PutAndAddToSet(std::string_view key, std::string_view value,
                                   std::chrono::milliseconds ttl, std::string_view set_key,
                                   std::string_view member, std::chrono::milliseconds set_ttl) {
  TB_RETURN_IF_ERROR(Put(key, value, ttl));
  return AddToSet(set_key, member, set_ttl);
}

Result<TicketStore::Touched> TicketStore::GetAndTouch(
    std::string_view key, std::chrono::milliseconds ttl, int field, std::string_view text,
    std::string_view set_key, std::string_view member, std::chrono::milliseconds set_ttl) {
  namespace checks = ticket_store_checks;
  TB_RETURN_IF_ERROR(checks::Key(set_key));
  TB_RETURN_IF_ERROR(checks::Ttl(set_ttl));
  if (field < 0 || field > 9) {
    return Error::InvalidArgument("ticket store: field out of range");
  }
  auto record = Get(key);
  if (!record.ok()) return std::move(record).error();
  Touched result{std::move(*record), false};
  const std::vector<std::string_view> fields = checks::Fields(result.record);
  if (static_cast<size_t>(field) >= fields.size() || fields[field] != text) return result;
  TB_RETURN_IF_ERROR(Touch(key, ttl));
  TB_RETURN_IF_ERROR(AddToSet(set_key, member, set_ttl));
  result.touched = true;
  return result;
}

Result<TicketExchangeResult> TicketStore::Exchange(const TicketExchange& op) {
  namespace checks = ticket_store_checks;
  using Outcome = TicketExchangeResult::Outcome;
  TB_RETURN_IF_ERROR(checks::Exchange(op));
  TicketExchangeResult result;
  if (!op.mark_key.empty()) {
    auto fresh = PutIfAbsent(op.mark_key, "1", op.mark_ttl);
    if (!fresh.ok()) return std::move(fresh).error();
    if (!*fresh) {
      result.outcome = Outcome::kReplayed;
      return result;
    }
  }
  auto record = op.consume ? Redeem(op.redeem_key) : Get(op.redeem_key);
  if (!record.ok()) {
    if (record.error().code != errc::kNotFound) return std::move(record).error();
    result.outcome = Outcome::kNotFound;
    return result;
  }
  result.record = std::move(*record);
  const std::vector<std::string_view> fields = checks::Fields(result.record);
  result.outcome = checks::Judge(op, fields);
  if (result.outcome != Outcome::kIssued) return result;
  const std::string owner(fields[op.owner_field]);
  // The owner's tombstone, read before the grant and again after it: these
  // steps are not one atomic step here (Redis runs them as one script). A
  // logout that set the guard after the first read either shows in the second
  // — the grant is taken back — or came after the grant joined the owner's
  // set, so the logout's sweep of that set removes it.
  const std::string guard_key = op.guard_prefix.empty() ? std::string() : op.guard_prefix + owner;
  auto guarded = [&]() -> Result<bool> {
    if (guard_key.empty()) return false;
    auto guard = Get(guard_key);
    if (guard.ok()) return true;
    if (guard.error().code != errc::kNotFound) return std::move(guard).error();
    return false;
  };
  auto before = guarded();
  if (!before.ok()) return std::move(before).error();
  if (*before) {
    result.outcome = Outcome::kGuarded;
    return result;
  }
  TB_RETURN_IF_ERROR(Put(op.put_key, checks::FillTemplate(op.put_template, fields), op.put_ttl));
  TB_RETURN_IF_ERROR(AddToSet(op.set_prefix + owner, op.set_member, op.set_ttl));
  auto after = guarded();
  if (!after.ok()) return std::move(after).error();
  if (*after) {
    TB_RETURN_IF_ERROR(Erase(op.put_key));
    result.outcome = Outcome::kGuarded;
  }
  return result;
}

}  // namespace tongban
