// `tongban admin approval …`: the matter catalogue (import, export, list), the
// working calendar (import, export) and a case's record, from the shell on the
// same database the server uses.
#include <cctype>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>

#include "app/admin.h"
#include "app/node.h"
#include "approval/calendar.h"
#include "approval/engine.h"
#include "approval/matters.h"
#include "codec/render.h"
#include "codec/value.h"

namespace tongban::app {
namespace {

int Fail(const Error& error) {
  std::fprintf(stderr, "tongban admin: %s\n", error.message.c_str());
  return 1;
}

bool EndsWithXlsx(const std::string& path) {
  if (path.size() < 5) return false;
  std::string tail = path.substr(path.size() - 5);
  for (char& c : tail) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return tail == ".xlsx";
}

// The approval parts a command needs: the node's own (Node::Open runs the
// approval migrations), so the CLI and the server build them in one place.
struct Approval {
  std::unique_ptr<Node> node;
  approval::MatterCatalogue* matters = nullptr;
  approval::CalendarStore* calendars = nullptr;
  approval::CaseEngine* engine = nullptr;
};

Result<Approval> OpenApproval(const Config& config) {
  if (!config.approval.enabled) {
    return Error::InvalidArgument("the approval subsystem is disabled ([approval] enabled = false)");
  }
  auto node = Node::Open(config);
  if (!node.ok()) return std::move(node).error();
  Approval a;
  a.node = std::move(*node);
  a.matters = a.node->approval_matters();
  a.calendars = a.node->approval_calendars();
  a.engine = a.node->approval_engine();
  return a;
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::NotFound("cannot open " + path);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Error::Unavailable("cannot read " + path);
  return bytes;
}

Status WriteFile(const std::string& path, std::string_view bytes) {
  if (path == "-") {
    std::fwrite(bytes.data(), 1, bytes.size(), stdout);
    return std::fflush(stdout) == 0 ? Status::Ok() : Error::Unavailable("cannot write stdout");
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return Error::Unavailable("cannot write " + path);
  return Status::Ok();
}

// ---- a case as JSON (case-show) ----

codec::Value ApplicantJson(const approval::Applicant& a) {
  codec::Value v = codec::Value::Object();
  v.Set("type", a.type == approval::ApplicantType::kPerson ? "person" : "legal_person");
  v.Set("name", a.name);
  v.Set("id_type", a.id_type);
  v.Set("id_number", a.id_number);
  v.Set("mobile", a.mobile);
  if (!a.legal_representative.empty()) v.Set("legal_representative", a.legal_representative);
  if (!a.contact_name.empty()) v.Set("contact_name", a.contact_name);
  if (!a.agent_name.empty()) {
    v.Set("agent_name", a.agent_name);
    v.Set("agent_id_number", a.agent_id_number);
    v.Set("agent_mobile", a.agent_mobile);
  }
  return v;
}

codec::Value CaseJson(const approval::Case& c) {
  codec::Value v = codec::Value::Object();
  v.Set("id", c.id);
  v.Set("number", c.number);
  v.Set("implement_code", c.implement_code);
  v.Set("matter_version", c.matter_version);
  v.Set("matter_name", c.matter_name);
  v.Set("orgcoding", c.orgcoding);
  v.Set("division", c.division);
  v.Set("applicant", ApplicantJson(c.applicant));
  codec::Value materials = codec::Value::Array();
  for (const approval::CaseMaterial& m : c.materials) {
    codec::Value item = codec::Value::Object();
    item.Set("name", m.name);
    item.Set("form", m.form == approval::MaterialForm::kPaper        ? "paper"
                     : m.form == approval::MaterialForm::kElectronic ? "electronic"
                                                                     : "either");
    item.Set("copies", m.copies);
    if (!m.sha256.empty()) {
      item.Set("sha256", m.sha256);
      item.Set("media_type", m.media_type);
      item.Set("size", m.size);
    }
    materials.Push(std::move(item));
  }
  v.Set("materials", std::move(materials));
  v.Set("channel", c.channel);
  v.Set("state", approval::CaseStateName(c.state));
  v.Set("current_step", c.current_step);
  v.Set("pending_role", c.pending_role);
  v.Set("pending_org", c.pending_org);
  v.Set("pending_user", c.pending_user);
  v.Set("corrections", c.corrections);
  v.Set("registered_at_ms", c.registered_at_ms);
  v.Set("accepted_at_ms", c.accepted_at_ms);
  v.Set("completed_at_ms", c.completed_at_ms);
  v.Set("deadline_ms", c.deadline_ms);
  v.Set("step_started_at_ms", c.step_started_at_ms);
  v.Set("step_deadline_ms", c.step_deadline_ms);
  v.Set("stopped_since_ms", c.stopped_since_ms);
  v.Set("stopped_working_days", c.stopped_working_days);
  if (c.result) v.Set("result", static_cast<int>(*c.result));
  v.Set("result_reason", c.result_reason);
  v.Set("reported", c.reported);
  v.Set("revision", c.revision);
  return v;
}

codec::Value HistoryJson(const std::vector<approval::StepRecord>& records) {
  codec::Value out = codec::Value::Array();
  for (const approval::StepRecord& r : records) {
    codec::Value v = codec::Value::Object();
    v.Set("at_ms", r.at_ms);
    v.Set("action", approval::ActionName(r.action));
    v.Set("step_code", r.step_code);
    v.Set("step_name", r.step_name);
    v.Set("userid", r.userid);
    v.Set("username", r.username);
    v.Set("orgcoding", r.orgcoding);
    v.Set("opinion", r.opinion);
    v.Set("from_state", r.from_state);
    v.Set("to_state", r.to_state);
    if (!r.detail.empty()) v.Set("detail", r.detail);
    if (!r.attachments.empty()) {
      codec::Value files = codec::Value::Array();
      for (const std::string& sha : r.attachments) files.Push(sha);
      v.Set("attachments", std::move(files));
    }
    out.Push(std::move(v));
  }
  return out;
}

}  // namespace

void RegisterApprovalAdminCommands(CLI::App& admin, AdminCommands& commands) {
  CLI::App* approval_cmd = admin.add_subcommand(
      "approval", "统一审批: matter catalogue, working calendar, cases (docs/approval-matters.md)");
  approval_cmd->require_subcommand(1);

  auto import_path = std::make_shared<std::string>();
  CLI::App* import = approval_cmd->add_subcommand(
      "matter-import", "Import matters from .csv or .xlsx: every row a new version, all or none");
  import->add_option("file", *import_path, "file.csv or file.xlsx")
      ->required()
      ->check(CLI::ExistingFile);
  import->callback([&commands, import_path] {
    commands.run = [import_path](const Config& config) {
      auto a = OpenApproval(config);
      if (!a.ok()) return Fail(a.error());
      Result<int64_t> saved = int64_t{0};
      if (EndsWithXlsx(*import_path)) {
        auto bytes = ReadFile(*import_path);
        if (!bytes.ok()) return Fail(bytes.error());
        saved = a->matters->ImportXlsx(*bytes);
      } else {
        std::ifstream in(*import_path, std::ios::binary);
        if (!in) return Fail(Error::NotFound("cannot open " + *import_path));
        saved = a->matters->ImportCsv(in);
      }
      if (!saved.ok()) return Fail(saved.error());
      std::printf("imported %lld matters\n", static_cast<long long>(*saved));
      return 0;
    };
  });

  auto export_path = std::make_shared<std::string>();
  CLI::App* exp = approval_cmd->add_subcommand(
      "matter-export", "Export the latest version of every matter as .csv or .xlsx");
  exp->add_option("file", *export_path, "file.csv, file.xlsx, or - for CSV on stdout")
      ->required();
  exp->callback([&commands, export_path] {
    commands.run = [export_path](const Config& config) {
      auto a = OpenApproval(config);
      if (!a.ok()) return Fail(a.error());
      std::string bytes;
      if (EndsWithXlsx(*export_path)) {
        auto xlsx = a->matters->ExportXlsx();
        if (!xlsx.ok()) return Fail(xlsx.error());
        bytes = std::move(*xlsx);
      } else {
        std::ostringstream out;
        if (Status s = a->matters->ExportCsv(out); !s.ok()) return Fail(s.error());
        bytes = std::move(out).str();
      }
      if (Status s = WriteFile(*export_path, bytes); !s.ok()) return Fail(s.error());
      return 0;
    };
  });

  auto list_filter = std::make_shared<approval::MatterFilter>();
  list_filter->limit = 1000;
  CLI::App* list = approval_cmd->add_subcommand("matter-list", "List matters (latest versions)");
  list->add_option("--org", list_filter->orgcoding, "Only this implementing org");
  list->add_option("--text", list_filter->text, "Part of the name or a code");
  list->add_flag("--enabled-only", list_filter->enabled_only, "Only enabled matters");
  list->add_option("--limit", list_filter->limit, "At most this many (default 1000)")
      ->check(CLI::Range(1, 1000));
  list->callback([&commands, list_filter] {
    commands.run = [list_filter](const Config& config) {
      auto a = OpenApproval(config);
      if (!a.ok()) return Fail(a.error());
      int64_t total = 0;
      auto matters = a->matters->List(*list_filter, &total);
      if (!matters.ok()) return Fail(matters.error());
      std::printf("implement_code\tversion\tenabled\torgcoding\ttype\tname\n");
      for (const approval::Matter& m : *matters) {
        std::printf("%s\t%d\t%s\t%s\t%s\t%s\n", m.implement_code.c_str(), m.version,
                    m.enabled ? "yes" : "no", m.orgcoding.c_str(),
                    std::string(approval::MatterTypeName(m.type)).c_str(), m.name.c_str());
      }
      std::printf("total=%lld\n", static_cast<long long>(total));
      return 0;
    };
  });

  auto calendar_path = std::make_shared<std::string>();
  CLI::App* cal_import = approval_cmd->add_subcommand(
      "calendar-import",
      "Import holidays and make-up working days (CSV division,date,kind,note); all or none; "
      "running cases' deadlines are recomputed");
  cal_import->add_option("file", *calendar_path, "file.csv")->required()->check(CLI::ExistingFile);
  cal_import->callback([&commands, calendar_path] {
    commands.run = [calendar_path](const Config& config) {
      auto a = OpenApproval(config);
      if (!a.ok()) return Fail(a.error());
      std::ifstream in(*calendar_path, std::ios::binary);
      if (!in) return Fail(Error::NotFound("cannot open " + *calendar_path));
      auto divisions = a->calendars->ImportCsv(in);
      if (!divisions.ok()) return Fail(divisions.error());
      int64_t recomputed = 0;
      for (const std::string& division : *divisions) {
        auto n = a->engine->RecomputeDeadlines(division);
        if (!n.ok()) return Fail(n.error());
        recomputed += *n;
        std::printf("division %s\n", division.empty() ? "(default)" : division.c_str());
      }
      std::printf("imported calendars of %zu divisions; %lld running cases' deadlines moved\n",
                  divisions->size(), static_cast<long long>(recomputed));
      return 0;
    };
  });

  auto export_division = std::make_shared<std::string>();
  auto calendar_out = std::make_shared<std::string>();
  CLI::App* cal_export = approval_cmd->add_subcommand(
      "calendar-export", "Export one division's calendar as CSV (\"default\" = every division's)");
  cal_export->add_option("division", *export_division, "GB/T 2260 code, or default")->required();
  cal_export->add_option("file", *calendar_out, "file.csv, or - for stdout")->required();
  cal_export->callback([&commands, export_division, calendar_out] {
    commands.run = [export_division, calendar_out](const Config& config) {
      auto a = OpenApproval(config);
      if (!a.ok()) return Fail(a.error());
      std::string division = *export_division == "default" ? "" : *export_division;
      std::ostringstream out;
      if (Status s = a->calendars->ExportCsv(division, out); !s.ok()) return Fail(s.error());
      if (Status s = WriteFile(*calendar_out, out.str()); !s.ok()) return Fail(s.error());
      return 0;
    };
  });

  auto case_number = std::make_shared<std::string>();
  CLI::App* show = approval_cmd->add_subcommand("case-show", "Print a case and its history as JSON");
  show->add_option("number", *case_number, "办件编号 (43 characters)")->required();
  show->callback([&commands, case_number] {
    commands.run = [case_number](const Config& config) {
      auto a = OpenApproval(config);
      if (!a.ok()) return Fail(a.error());
      auto found = a->engine->Get(*case_number);
      if (!found.ok()) return Fail(found.error());
      auto history = a->engine->History(*case_number);
      if (!history.ok()) return Fail(history.error());
      codec::Value out = CaseJson(*found);
      out.Set("history", HistoryJson(*history));
      std::printf("%s\n", codec::RenderJson(out).c_str());
      return 0;
    };
  });
}

}  // namespace tongban::app
