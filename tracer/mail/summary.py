"""What a poll or an import did: counts per folder (no database, no IMAP here,
so a poll with nothing new reports without loading either layer)."""

from __future__ import annotations

from dataclasses import dataclass, field

RECORDED, DUPLICATE, QUARANTINED = "recorded", "duplicate", "quarantined"


@dataclass
class Summary:
    recorded: int = 0
    duplicates: int = 0
    quarantined: int = 0
    errors: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # files of an imported folder that are not mail

    def add(self, outcome: str) -> None:
        if outcome == RECORDED:
            self.recorded += 1
        elif outcome == DUPLICATE:
            self.duplicates += 1
        else:
            self.quarantined += 1

    def merge(self, other: "Summary") -> None:
        self.recorded += other.recorded
        self.duplicates += other.duplicates
        self.quarantined += other.quarantined
        self.errors += other.errors
        self.skipped += other.skipped

    def as_dict(self) -> dict:
        return {"recorded": self.recorded, "duplicates": self.duplicates, "quarantined": self.quarantined}


@dataclass
class FolderReport:
    mailbox: str
    folder: str
    role: str
    summary: Summary
    error: str | None = None
