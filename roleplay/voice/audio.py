"""Audio as the voice modules pass it around: mono float32 PCM at a known rate.

Gradio's ``Audio`` component gives ``(sample_rate, int16 array)``, mono ``(n,)`` or
``(n, channels)``; Piper gives 22.05 kHz; Whisper wants 16 kHz. These helpers convert between
them (resampling with FFmpeg's resampler through PyAV, which faster-whisper already needs), and
``encode_opus`` compresses a call's audio for keeping (Ogg/Opus, which browsers play).
"""

from __future__ import annotations

import io
import wave
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np

#: The rate Whisper listens at.
WHISPER_RATE = 16_000


def to_float_mono(samples: np.ndarray) -> np.ndarray:
    """Samples as mono float32 in [-1, 1]: integer PCM is scaled, channels (last axis) averaged.

    Args:
        samples: ``(n,)`` or ``(n, channels)``; int16, int32, or float in [-1, 1].
    """
    array = np.asarray(samples)
    if array.ndim == 2:
        array = array.mean(axis=1) if np.issubdtype(array.dtype, np.floating) else (
            array.astype(np.float64).mean(axis=1).astype(array.dtype))
    elif array.ndim != 1:
        raise ValueError(f"audio must be (n,) or (n, channels); got shape {array.shape}")
    if np.issubdtype(array.dtype, np.integer):
        return (array.astype(np.float32) / float(np.iinfo(array.dtype).max + 1)).astype(np.float32)
    return array.astype(np.float32, copy=False)


def to_int16(samples: np.ndarray) -> np.ndarray:
    """Samples as int16: float in [-1, 1] scaled (and clipped), int16 as it is."""
    array = np.asarray(samples)
    if np.issubdtype(array.dtype, np.floating):
        return np.clip(array * 32767.0, -32767, 32767).astype(np.int16)
    return array.astype(np.int16, copy=False)


def resample(samples: np.ndarray, rate: int, target: int = WHISPER_RATE) -> np.ndarray:
    """Mono float32 ``samples`` at ``rate`` resampled to ``target`` Hz.

    Args:
        samples: Mono float32 PCM (see ``to_float_mono``).
        rate: Its sample rate.
        target: The rate wanted.

    Returns:
        Mono float32 PCM at ``target``.
    """
    if rate == target or samples.size == 0:
        return samples.astype(np.float32, copy=False)
    resampler = av.AudioResampler(format="flt", layout="mono", rate=target)
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples, dtype=np.float32)[None, :],
                                       format="flt", layout="mono")
    frame.sample_rate = rate
    out = [f.to_ndarray()[0] for f in resampler.resample(frame)]
    out += [f.to_ndarray()[0] for f in resampler.resample(None)]
    return np.concatenate(out).astype(np.float32, copy=False) if out else np.zeros(0, np.float32)


def for_whisper(sample_rate: int, samples: np.ndarray) -> np.ndarray:
    """Any PCM (as Gradio's ``Audio`` gives it: ``(rate, array)``) as 16 kHz mono float32."""
    return resample(to_float_mono(samples), sample_rate, WHISPER_RATE)


#: Opus at 24 kbit/s keeps speech clear at about 3 kB a second.
OPUS_BIT_RATE = 24_000


def encode_opus(sample_rate: int, samples: np.ndarray, bit_rate: int = OPUS_BIT_RATE) -> bytes:
    """Any PCM (as Gradio's ``Audio`` gives it) as an Ogg/Opus file, mono at 48 kHz.

    Args:
        sample_rate: The rate of ``samples``.
        samples: ``(n,)`` or ``(n, channels)``; integer PCM or float in [-1, 1].
        bit_rate: The encoder's target bits a second.

    Returns:
        The file's bytes (``audio/ogg``).

    Raises:
        ValueError: there are no samples.
    """
    mono = np.clip(to_float_mono(samples), -1.0, 1.0)
    if mono.size == 0:
        raise ValueError("no audio to encode: the recording is empty")
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(mono)[None, :], format="flt", layout="mono")
    frame.sample_rate = sample_rate
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="ogg") as out:
        stream = out.add_stream("libopus", rate=48_000, layout="mono")
        stream.bit_rate = bit_rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:  # the encoder resamples
            out.mux(packet)
    return buffer.getvalue()


def read_wav(path: Path | BinaryIO) -> tuple[int, np.ndarray]:
    """A 16-bit PCM WAV file (a path, or bytes in ``io.BytesIO``) as ``(sample_rate, int16 array)``
    (``(n,)`` or ``(n, channels)``).

    Raises:
        ValueError: it is not WAV, or not 16-bit PCM.
    """
    given = isinstance(path, io.IOBase)
    name = "the audio" if given else str(path)
    try:
        with wave.open(path if given else str(path), "rb") as wav:
            if wav.getsampwidth() != 2:
                raise ValueError(f"{name}: only 16-bit PCM WAV is read here (sample width {wav.getsampwidth()})")
            data = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
            channels = wav.getnchannels()
            return wav.getframerate(), data.reshape(-1, channels) if channels > 1 else data
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"{name} is not a 16-bit PCM WAV file ({exc or type(exc).__name__})") from exc


def read_audio(path: Path) -> tuple[int, np.ndarray]:
    """Any audio file FFmpeg reads (a browser's recording: WAV, WebM, Ogg…) as ``(rate, mono float32)``.

    Raises:
        ValueError: the file holds no audio that can be decoded.
    """
    try:
        with av.open(str(path)) as container:
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="flt", layout="mono", rate=stream.rate or None)
            chunks = [f.to_ndarray()[0] for frame in container.decode(stream) for f in resampler.resample(frame)]
            rate = stream.rate
    except (av.FFmpegError, IndexError) as exc:
        raise ValueError(f"{path.name}: no audio could be read ({exc})") from None
    return rate, np.concatenate(chunks).astype(np.float32, copy=False) if chunks else np.zeros(0, np.float32)


def write_wav(path: Path | BinaryIO, sample_rate: int, samples: np.ndarray) -> None:
    """Write mono int16 (or float in [-1, 1]) samples as a 16-bit PCM WAV file (a path, or ``io.BytesIO``)."""
    with wave.open(path if isinstance(path, io.IOBase) else str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(to_int16(samples).astype("<i2").tobytes())
