// The direct interface's messages (统一公共支付平台 直连接口, gov-domain-notes §5):
// XML <ROOT><REQUEST><PARAM NAME="…">…</PARAM>…<PROJECT>…</PROJECT></REQUEST></ROOT>
// or the same as a JSON object, parsed into name/value records; notices mapped
// to and from the spec's field names (money in yuan with two decimals on the
// wire, integer fen inside); replies IS_SUCCESS CODE="00" / "99" with ERRMSG.
// No I/O: the API (api_direct.cc) authenticates and calls the stores.
// docs/api/payment.md §Direct interface has the full field list.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "payment/model.h"

namespace tongban::payment {

// One PARAM list: names upper-cased as sent (the spec's are upper case), each
// name at most once.
class DirectRecord {
 public:
  // "" when absent.
  const std::string& Get(std::string_view name) const;
  bool Has(std::string_view name) const;
  // InvalidArgument when the name is already there.
  Status Add(std::string name, std::string value);
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

struct DirectRequest {
  DirectRecord params;
  std::vector<DirectRecord> projects;  // item lines (PROJECT), in order
};

// Limits: 1 MiB, 200 parameters per record, 50 PROJECTs, values 4000 bytes.
// XML: DOCTYPE refused (no entities), UTF-8 only; PROJECT elements directly in
// REQUEST or inside a PROJECTS element; any other element is an error.
// JSON: {"NAME": "value" | number, ..., "PROJECT": [{...}, ...]}.
// Errors: InvalidArgument / TooLarge with a Chinese message.
Result<DirectRequest> ParseDirectXml(std::string_view text);
Result<DirectRequest> ParseDirectJson(std::string_view text);

// The notice a create request describes (not yet checked against its unit:
// CompleteNotice does that). InvalidArgument names the field.
Result<PaymentNotice> NoticeFromDirect(const DirectRequest& request);

// A reply: success with zero or more notices, or an error message.
struct DirectReply {
  bool ok = true;
  std::string errmsg;
  std::vector<PaymentNotice> notices;
  bool list = false;  // Get_AppPay_Infos: notices under NOTICES even when one
};

// <?xml …?><ROOT><IS_SUCCESS CODE="00"/><ERRMSG>…</ERRMSG><NOTICE>…</NOTICE></ROOT>
std::string RenderDirectXml(const DirectReply& reply);
// {"IS_SUCCESS":{"CODE":"00"},"ERRMSG":"","NOTICE":{…}} ("NOTICES":[…] for lists)
std::string RenderDirectJson(const DirectReply& reply);

}  // namespace tongban::payment
