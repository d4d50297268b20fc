#include "daemon/decode/event_decoder.h"
// Implementation pending (decode helper).
