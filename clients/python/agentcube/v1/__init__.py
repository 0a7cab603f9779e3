"""Protobuf modules generated from Protos/agentcube/v1 (scripts/generate-python-protos.sh)."""
