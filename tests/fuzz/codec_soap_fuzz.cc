// libFuzzer target for codec::ParseSoapRequest, which reads every SOAP request body.
// Beyond not crashing: a parsed call's parameters, wrapped by BuildSoapResponse, give an
// envelope that parses again, and the wrapping is stable after one round (the first may
// replace characters XML cannot carry by U+FFFD). Faults built from the text parse too.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "codec/soap.h"
#include "codec/text_internal.h"

#define FUZZ_CHECK(cond)                                 \
  do {                                                   \
    if (!(cond)) {                                       \
      std::fprintf(stderr, "check failed: %s\n", #cond); \
      std::abort();                                      \
    }                                                    \
  } while (0)

namespace {

using namespace tongban::codec;

// The text of the <ns:out> element of a response envelope.
std::string OutText(const std::string& envelope, const std::string& operation) {
  tongban::Result<SoapCall> reply = ParseSoapRequest(envelope);
  FUZZ_CHECK(reply.ok());
  FUZZ_CHECK(reply->operation == operation + "Response");
  const std::string* out = reply->Find("out");
  FUZZ_CHECK(out != nullptr);
  return *out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  tongban::Result<SoapCall> call = ParseSoapRequest(text);
  if (!call.ok()) {
    FUZZ_CHECK(!call.error().message.empty());
    return 0;
  }
  FUZZ_CHECK(!call->operation.empty());
  for (std::size_t i = 0; i < call->params.size(); ++i) {
    for (std::size_t j = i + 1; j < call->params.size(); ++j) {
      FUZZ_CHECK(call->params[i].name != call->params[j].name);
    }
  }
  // pugixml accepts some names an XML name cannot be (e.g. a local name starting with a digit);
  // the response then carries the name encoded, so only plain names are checked by value.
  const bool plain = tongban::codec::internal::IsPlainXmlName(call->operation);
  for (const SoapParam& p : call->params) {
    const std::string first =
        BuildSoapResponse(call->operation, call->operation_namespace, p.value, call->version);
    if (!plain) {
      FUZZ_CHECK(ParseSoapRequest(first).ok());
      continue;
    }
    const std::string out = OutText(first, call->operation);
    FUZZ_CHECK(BuildSoapResponse(call->operation, call->operation_namespace, out, call->version) ==
               first);
    // A SOAP 1.1 fault has text-only children, so it reads back as a call to "Fault".
    const std::string fault = BuildSoapFault(SoapFaultCode::kClient, p.value);
    tongban::Result<SoapCall> parsed_fault = ParseSoapRequest(fault);
    FUZZ_CHECK(parsed_fault.ok());
    FUZZ_CHECK(parsed_fault->operation == "Fault");
  }
  return 0;
}
