"""Session templates: Logon, Logout, Heartbeat, TestRequest, and BusinessReject.

Invariants: each body format below is the XML's field order and types (checked by the
tests); encoders return a whole frame; decoders read the fixed block at `off` and ignore
anything after it (fields a newer version appended).
"""

from __future__ import annotations

from struct import Struct

from hftbook.protocol.errors import EncodeError
from hftbook.protocol.messages import BusinessReject, Heartbeat, Logon, Logout, TestRequest
from hftbook.protocol.schema import (
    API_KEY_LENGTH,
    BUSINESS_REJECT,
    BUSINESS_REJECT_REASONS,
    HEARTBEAT,
    LOGON,
    LOGOUT,
    LOGOUT_REASONS,
    SCHEMA_ID,
    SCHEMA_VERSION,
    SIGNATURE_LENGTH,
    TEST_REQUEST,
    TEXT_LENGTH,
    codes,
)
from hftbook.protocol.wire import (
    Buffer,
    Template,
    frame_length,
    frame_struct,
    new_tuple,
    register,
    text_in,
    text_out,
)

_LOGOUT_REASON = codes(LOGOUT_REASONS)
_BUSINESS_REASON = codes(BUSINESS_REJECT_REASONS)

# Logon: timestampNs int64, heartbeatIntervalMs uint32, apiKey char[32], signature char[32]
_LOGON_FMT = "qI32s32s"
_LOGON_BLOCK = 76
_LOGON_LEN = frame_length(_LOGON_BLOCK)
_LOGON_FRAME = frame_struct(_LOGON_FMT)
_LOGON_BODY = Struct("<" + _LOGON_FMT)


def _enc_logon(m: Logon, seq: int) -> bytes:
    sig = m.signature
    if type(sig) is not bytes or len(sig) != SIGNATURE_LENGTH:
        raise EncodeError(f"signature must be {SIGNATURE_LENGTH} bytes")
    return _LOGON_FRAME.pack(_LOGON_LEN, _LOGON_BLOCK, LOGON, SCHEMA_ID, SCHEMA_VERSION,
                             seq, m.timestamp_ns, m.heartbeat_interval_ms,
                             text_in(m.api_key, API_KEY_LENGTH, "api_key"), sig)


def _dec_logon(buf: Buffer, off: int, bl: int, end: int) -> Logon:
    ts, hb, key, sig = _LOGON_BODY.unpack_from(buf, off)
    return new_tuple(Logon, (text_out(key), ts, sig, hb))


# Logout: reason uint8, text char[64]
_LOGOUT_FMT = "B64s"
_LOGOUT_BLOCK = 65
_LOGOUT_LEN = frame_length(_LOGOUT_BLOCK)
_LOGOUT_FRAME = frame_struct(_LOGOUT_FMT)
_LOGOUT_BODY = Struct("<" + _LOGOUT_FMT)


def _enc_logout(m: Logout, seq: int) -> bytes:
    return _LOGOUT_FRAME.pack(_LOGOUT_LEN, _LOGOUT_BLOCK, LOGOUT, SCHEMA_ID, SCHEMA_VERSION,
                              seq, _LOGOUT_REASON[m.reason], text_in(m.text, TEXT_LENGTH, "text"))


def _dec_logout(buf: Buffer, off: int, bl: int, end: int) -> Logout:
    reason, text = _LOGOUT_BODY.unpack_from(buf, off)
    return new_tuple(Logout, (LOGOUT_REASONS[reason], text_out(text)))


# Heartbeat and TestRequest: testReqId uint64
_ID_FMT = "Q"
_ID_BLOCK = 8
_ID_LEN = frame_length(_ID_BLOCK)
_ID_FRAME = frame_struct(_ID_FMT)
_ID_BODY = Struct("<" + _ID_FMT)


def _enc_heartbeat(m: Heartbeat, seq: int) -> bytes:
    return _ID_FRAME.pack(_ID_LEN, _ID_BLOCK, HEARTBEAT, SCHEMA_ID, SCHEMA_VERSION, seq,
                          m.test_req_id)


def _dec_heartbeat(buf: Buffer, off: int, bl: int, end: int) -> Heartbeat:
    return new_tuple(Heartbeat, _ID_BODY.unpack_from(buf, off))


def _enc_test_request(m: TestRequest, seq: int) -> bytes:
    return _ID_FRAME.pack(_ID_LEN, _ID_BLOCK, TEST_REQUEST, SCHEMA_ID, SCHEMA_VERSION, seq,
                          m.test_req_id)


def _dec_test_request(buf: Buffer, off: int, bl: int, end: int) -> TestRequest:
    return new_tuple(TestRequest, _ID_BODY.unpack_from(buf, off))


# BusinessReject: refSeqNum uint64, refTemplateId uint16, reason uint8, text char[64]
_BREJ_FMT = "QHB64s"
_BREJ_BLOCK = 75
_BREJ_LEN = frame_length(_BREJ_BLOCK)
_BREJ_FRAME = frame_struct(_BREJ_FMT)
_BREJ_BODY = Struct("<" + _BREJ_FMT)


def _enc_business_reject(m: BusinessReject, seq: int) -> bytes:
    return _BREJ_FRAME.pack(_BREJ_LEN, _BREJ_BLOCK, BUSINESS_REJECT, SCHEMA_ID,
                            SCHEMA_VERSION, seq, m.ref_seq_num, m.ref_template_id,
                            _BUSINESS_REASON[m.reason], text_in(m.text, TEXT_LENGTH, "text"))


def _dec_business_reject(buf: Buffer, off: int, bl: int, end: int) -> BusinessReject:
    ref_seq, ref_tid, reason, text = _BREJ_BODY.unpack_from(buf, off)
    return new_tuple(BusinessReject, (ref_seq, ref_tid, BUSINESS_REJECT_REASONS[reason], text_out(text)))


register(Template(LOGON, Logon, _LOGON_BLOCK, _LOGON_FMT, _enc_logon, _dec_logon))
register(Template(LOGOUT, Logout, _LOGOUT_BLOCK, _LOGOUT_FMT, _enc_logout, _dec_logout))
register(Template(HEARTBEAT, Heartbeat, _ID_BLOCK, _ID_FMT, _enc_heartbeat, _dec_heartbeat))
register(Template(TEST_REQUEST, TestRequest, _ID_BLOCK, _ID_FMT, _enc_test_request, _dec_test_request))
register(Template(BUSINESS_REJECT, BusinessReject, _BREJ_BLOCK, _BREJ_FMT, _enc_business_reject,
                  _dec_business_reject))
