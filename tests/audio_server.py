"""The tests' own speech server: OpenAI's audio API over the app's embedded Whisper and Piper.

Test-only (not in the package). It stands for a server that gives word times, as OpenAI's
``whisper-1`` does, which neither server on PyPI that runs offline here does
(``faster-whisper-server`` gives segments only; ``local-tts-studio`` only speaks). It serves:

- ``POST /v1/audio/transcriptions``: multipart ``file`` (WAV), ``model``, ``response_format``
  (``json`` or ``verbose_json``), ``timestamp_granularities[]``; verbose_json has ``words`` when
  ``word`` is asked for, as OpenAI's does;
- ``POST /v1/audio/speech``: JSON ``model``, ``voice``, ``input``, ``response_format`` (``wav``
  or ``pcm``), ``speed``; Piper's joe voice at 22.05 kHz whatever the voice.

Every request needs ``Authorization: Bearer <key>``. To play the servers the client must cope
with: the model ``missing`` is not found (HTTP 404), the model ``text`` answers plain text and
the voice ``mp3`` MP3-like bytes whatever format was asked for (as servers that ignore
``response_format`` do).

Run: ``python tests/audio_server.py PORT KEY`` (loopback only).
"""

from __future__ import annotations

import io
import sys
from typing import Annotated

import numpy as np
import uvicorn
from fastapi import Depends, FastAPI, File, Form, Header, HTTPException, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel

from roleplay.config import load_settings
from roleplay.voice import bundled_voice, for_whisper, read_wav, shared_speaker, write_wav
from roleplay.voice.stt import load_whisper

KEY = sys.argv[2] if len(sys.argv) > 2 else "sk-test"
app = FastAPI()
settings = load_settings()
whisper = load_whisper(settings)
voice = shared_speaker(bundled_voice(settings.model_cache_dir), varied=False)


def _error(status: int, message: str) -> HTTPException:
    return HTTPException(status, {"error": {"message": message, "type": "invalid_request_error"}})


@app.exception_handler(HTTPException)
async def _openai_shaped(_, exc: HTTPException) -> JSONResponse:
    return JSONResponse(exc.detail, status_code=exc.status_code)


def _signed_in(authorization: Annotated[str, Header()] = "") -> None:
    if authorization != f"Bearer {KEY}":
        raise _error(401, "Incorrect API key provided.")


@app.post("/v1/audio/transcriptions", dependencies=[Depends(_signed_in)], response_model=None)
def transcriptions(file: Annotated[UploadFile, File()], model: Annotated[str, Form()],
                   response_format: Annotated[str, Form()] = "json", prompt: Annotated[str | None, Form()] = None,
                   granularities: Annotated[list[str] | None, Form(alias="timestamp_granularities[]")] = None,
                   ) -> dict | PlainTextResponse:
    if model == "missing":
        raise _error(404, f"The model '{model}' does not exist")
    heard = whisper.transcribe(for_whisper(*read_wav(io.BytesIO(file.file.read()))), prompt=prompt)
    if model == "text":
        return PlainTextResponse(heard.text)
    if response_format == "json":
        return {"text": heard.text}
    if response_format != "verbose_json":
        raise _error(400, f"response_format {response_format!r} is not supported")
    answer = {"task": "transcribe", "language": "english", "duration": heard.duration_s, "text": heard.text}
    if "word" in (granularities or []):
        answer["words"] = [{"word": w.text, "start": w.start, "end": w.end} for w in heard.words]
    return answer


class SpeechRequest(BaseModel):
    model: str
    voice: str
    input: str
    response_format: str = "mp3"
    speed: float = 1.0


@app.post("/v1/audio/speech", dependencies=[Depends(_signed_in)])
def speech(request: SpeechRequest) -> Response:
    if request.voice == "mp3":
        return Response(b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(200), media_type="audio/mpeg")
    spoken = voice.at_pace(1.0 / request.speed).synthesize(request.input)
    if request.response_format == "pcm":
        return Response(np.asarray(spoken.samples, "<i2").tobytes(), media_type="audio/pcm")
    if request.response_format != "wav":
        raise _error(400, f"response_format {request.response_format!r} is not supported here")
    out = io.BytesIO()
    write_wav(out, spoken.sample_rate, spoken.samples)
    return Response(out.getvalue(), media_type="audio/wav")


@app.get("/health")
def health() -> dict:
    return {"status": "ok"}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
