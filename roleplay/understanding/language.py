"""Which language a reply is in (py3langid: a bundled model, no download)."""

from __future__ import annotations

import threading

_lock = threading.Lock()
_identifier = None
#: Below this many words, or this sure, a reply is taken as English: "ok", "sure, Tuesday".
MIN_WORDS = 4
MIN_CONFIDENCE = 0.9


def detect_language(text: str) -> tuple[str, float]:
    """The reply's language (ISO 639-1) and how sure the identifier is."""
    global _identifier
    if len(text.split()) < MIN_WORDS:
        return "en", 0.0
    with _lock:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        lang, p = _identifier.classify(text)
    if lang != "en" and p < MIN_CONFIDENCE:
        return "en", round(float(p), 4)
    return str(lang), round(float(p), 4)
