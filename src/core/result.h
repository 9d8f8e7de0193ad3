// Result<T> and Error: how every tongban module reports an expected failure.
// An Error carries a numeric code (the SSO specification's codes, e.g. 6001,
// or one of the generic codes below) and a human-readable message. Exceptions
// are reserved for programming errors and start-up failures.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace tongban {

// Generic codes for failures that are not one of the specification's codes.
// Specification codes (1001..9904) are used as they are.
namespace errc {
inline constexpr int kInvalidArgument = 1;
inline constexpr int kNotFound = 2;
inline constexpr int kAlreadyExists = 3;
inline constexpr int kPermissionDenied = 4;
inline constexpr int kExpired = 5;
inline constexpr int kUnavailable = 6;
inline constexpr int kInternal = 7;
inline constexpr int kTooLarge = 8;
inline constexpr int kConflict = 9;
}  // namespace errc

struct Error {
  int code = errc::kInternal;
  std::string message;

  static Error InvalidArgument(std::string m) { return {errc::kInvalidArgument, std::move(m)}; }
  static Error NotFound(std::string m) { return {errc::kNotFound, std::move(m)}; }
  static Error AlreadyExists(std::string m) { return {errc::kAlreadyExists, std::move(m)}; }
  static Error PermissionDenied(std::string m) { return {errc::kPermissionDenied, std::move(m)}; }
  static Error Expired(std::string m) { return {errc::kExpired, std::move(m)}; }
  static Error Unavailable(std::string m) { return {errc::kUnavailable, std::move(m)}; }
  static Error Internal(std::string m) { return {errc::kInternal, std::move(m)}; }
  static Error TooLarge(std::string m) { return {errc::kTooLarge, std::move(m)}; }
  static Error Conflict(std::string m) { return {errc::kConflict, std::move(m)}; }
};

// Either a T or an Error. Cheap to move; check ok() before value().
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}     // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { assert(!ok()); return std::get<1>(v_); }
  Error&& error() && { assert(!ok()); return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

// Success or an Error, for operations that return nothing.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  static Status Ok() { return Status(); }

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const& { assert(!ok_); return error_; }
  Error&& error() && { assert(!ok_); return std::move(error_); }

 private:
  Error error_;
  bool ok_ = true;
};

}  // namespace tongban

// Returns early from the enclosing function when `expr` (a Status or Result)
// failed, passing its Error on.
#define TB_RETURN_IF_ERROR(expr)                          \
  do {                                                    \
    auto tb_status_ = (expr);                             \
    if (!tb_status_.ok()) return std::move(tb_status_).error(); \
  } while (0)
