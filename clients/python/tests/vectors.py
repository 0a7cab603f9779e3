"""Reads Protos/testdata/vectors.txt (its format is described at the top of that file)."""
import os
from dataclasses import dataclass, field
from typing import Dict, List

PATH = os.path.join(os.path.dirname(__file__), "..", "..", "..", "Protos", "testdata", "vectors.txt")


@dataclass
class Vector:
    kind: str
    name: str
    fields: Dict[str, str] = field(default_factory=dict)
    text_lines: List[str] = field(default_factory=list)

    def bytes(self, key: str) -> bytes:
        return bytes.fromhex(self.fields.get(key, ""))

    @property
    def text(self) -> str:
        return "".join(line + "\n" for line in self.text_lines)


def load(path: str = PATH) -> List[Vector]:
    vectors: List[Vector] = []
    with open(path, encoding="utf-8") as file:
        for raw in file:
            line = raw.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            if line.startswith("== "):
                kind, name = line[3:].split(" ", 1)
                vectors.append(Vector(kind, name))
            elif line.startswith("|"):
                vectors[-1].text_lines.append(line[2:])
            else:
                key, _, value = line.partition(":")
                value = value.strip()
                old = vectors[-1].fields.get(key)
                vectors[-1].fields[key] = value if old is None else f"{old} {value}".strip()
    return vectors


ALL = load()
BY_NAME = {v.name: v for v in ALL}


def of_kind(kind: str) -> List[Vector]:
    return [v for v in ALL if v.kind == kind]
