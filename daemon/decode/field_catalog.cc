#include "daemon/decode/field_catalog.h"

namespace nsmd {

FieldId FieldCatalog::Intern(absl::string_view path) {
  auto it = ids_.find(path);
  if (it != ids_.end()) return it->second;
  FieldId id = static_cast<FieldId>(paths_.size());
  paths_.emplace_back(path);
  ids_.emplace(std::string(path), id);
  return id;
}

FieldId FieldCatalog::Find(absl::string_view path) const {
  auto it = ids_.find(path);
  return it == ids_.end() ? kNoField : it->second;
}

}  // namespace nsmd
