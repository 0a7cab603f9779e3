// The SDK's users need the message types, status codes and connection targets.
@_exported import AgentCubeCore
@_exported import struct AgentCubeTransport.ConnectionTarget
@_exported import struct AgentCubeTransport.ClientTLSConfiguration
