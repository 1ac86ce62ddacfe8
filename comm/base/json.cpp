// The one copy of nlohmann::json's heavy templates (see json.hpp).
#include "comm/base/json.hpp"

HPCLESS_JSON_INSTANTIATIONS(template)
