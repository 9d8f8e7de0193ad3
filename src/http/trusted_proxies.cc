#include "http/trusted_proxies.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>
#include <optional>

namespace tongban::http {
namespace {

using Bytes = std::array<uint8_t, 16>;

constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Parses an IPv4 or IPv6 address into 16 bytes (IPv4 as IPv4-mapped).
std::optional<Bytes> ParseIp(std::string_view text, bool* is_v4 = nullptr) {
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof(buf)) return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  Bytes out{};
  in_addr v4;
  if (inet_pton(AF_INET, buf, &v4) == 1) {
    std::memcpy(out.data(), kMappedPrefix, 12);
    std::memcpy(out.data() + 12, &v4, 4);
    if (is_v4) *is_v4 = true;
    return out;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, buf, &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    if (is_v4) *is_v4 = false;
    return out;
  }
  return std::nullopt;
}

}  // namespace

std::string NormalizeIp(std::string_view ip) {
  auto bytes = ParseIp(Trim(ip));
  if (!bytes) return {};
  char buf[INET6_ADDRSTRLEN];
  if (std::memcmp(bytes->data(), kMappedPrefix, 12) == 0) {
    inet_ntop(AF_INET, bytes->data() + 12, buf, sizeof(buf));
  } else {
    inet_ntop(AF_INET6, bytes->data(), buf, sizeof(buf));
  }
  return buf;
}

std::string ClientNetwork(std::string_view ip) {
  // A prefix ("otp/") names a key space of its own; the address follows it.
  const size_t slash = ip.find('/');
  const std::string_view prefix = slash == std::string_view::npos ? "" : ip.substr(0, slash + 1);
  const std::string address(slash == std::string_view::npos ? ip : ip.substr(slash + 1));
  if (address.find(':') == std::string::npos || address.size() >= INET6_ADDRSTRLEN) {
    return std::string(ip);
  }
  in6_addr a{};
  if (inet_pton(AF_INET6, address.c_str(), &a) != 1) return std::string(ip);
  std::string out(prefix);
  char text[INET6_ADDRSTRLEN];
  if (IN6_IS_ADDR_V4MAPPED(&a)) {
    in_addr v4{};
    std::memcpy(&v4, &a.s6_addr[12], 4);
    if (inet_ntop(AF_INET, &v4, text, sizeof text) == nullptr) return std::string(ip);
    return out.append(text);
  }
  std::memset(&a.s6_addr[8], 0, 8);
  if (inet_ntop(AF_INET6, &a, text, sizeof text) == nullptr) return std::string(ip);
  return out.append(text).append("/64");
}

Result<TrustedProxies> TrustedProxies::Parse(const std::vector<std::string>& entries) {
  TrustedProxies out;
  for (const std::string& entry : entries) {
    std::string_view text = Trim(entry);
    size_t slash = text.find('/');
    bool is_v4 = false;
    auto bytes = ParseIp(text.substr(0, slash), &is_v4);
    if (!bytes) return Error::InvalidArgument("trusted proxy is not an address: " + entry);
    int max_bits = is_v4 ? 32 : 128;
    int bits = max_bits;
    if (slash != std::string_view::npos) {
      std::string_view num = text.substr(slash + 1);
      auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), bits);
      if (ec != std::errc() || ptr != num.data() + num.size() || bits < 0 || bits > max_bits) {
        return Error::InvalidArgument("trusted proxy has a bad prefix length: " + entry);
      }
    }
    out.nets_.push_back(Net{*bytes, is_v4 ? bits + 96 : bits});
  }
  return out;
}

bool TrustedProxies::Contains(std::string_view ip) const {
  if (nets_.empty()) return false;
  auto bytes = ParseIp(Trim(ip));
  if (!bytes) return false;
  for (const Net& net : nets_) {
    int bits = net.prefix_bits;
    int whole = bits / 8;
    if (std::memcmp(bytes->data(), net.bytes.data(), whole) != 0) continue;
    int rest = bits % 8;
    if (rest != 0) {
      uint8_t mask = static_cast<uint8_t>(0xFF << (8 - rest));
      if (((*bytes)[whole] & mask) != (net.bytes[whole] & mask)) continue;
    }
    return true;
  }
  return false;
}

std::string TrustedProxies::ClientIp(std::string_view peer_ip,
                                     std::string_view forwarded_for) const {
  std::string client(peer_ip);
  if (forwarded_for.empty() || !Contains(peer_ip)) return client;
  std::string_view rest = forwarded_for;
  while (!rest.empty()) {
    size_t comma = rest.rfind(',');
    std::string_view hop = Trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
    std::string normalized = NormalizeIp(hop);
    if (normalized.empty()) break;
    client = std::move(normalized);
    if (!Contains(client)) break;
  }
  return client;
}

}  // namespace tongban::http
