"""Generated protobuf and gRPC code of the character service (see ``character/v1/character.proto``)."""
