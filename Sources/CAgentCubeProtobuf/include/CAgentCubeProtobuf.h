// Umbrella header of CAgentCubeProtobuf: the protoc-c output for Protos/ (regenerate with
// scripts/generate-protos.sh; never edit the *.pb-c.* files by hand) and the few shims Swift needs.
#ifndef C_AGENTCUBE_PROTOBUF_H
#define C_AGENTCUBE_PROTOBUF_H

#include <protobuf-c/protobuf-c.h>

#include "agentcube/v1/session_service.pb-c.h"
#include "agentcube/v1/wire.pb-c.h"

/// The static empty string protobuf-c uses for absent string fields (and as their default).
///
/// Swift does not import `protobuf_c_empty_string` (an array of unknown size); this returns its address.
static inline char *cagentcube_protobuf_empty_string(void) {
  return (char *)protobuf_c_empty_string;
}

#endif  // C_AGENTCUBE_PROTOBUF_H
