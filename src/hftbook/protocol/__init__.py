"""The binary order-entry and market-data protocol: an SBE schema and a pure codec.

The schema ships with the package (`schema_xml()`, `schema_path()`: `hftbook-sbe.xml`);
docs/SBE.md describes it. Everything here is pure: no sockets, no clock, no threads.

    from hftbook import protocol as p

    data = p.encode_frame(p.NewOrder("a1", "BTC", "buy", "limit", qty=25_000_000,
                                     price=3_000_050_000_000), seq_num=7)
    dec = p.FrameDecoder()
    dec.feed(data)
    seq_num, message = dec.next_message()
    cmd = p.command_from_message(message, user="mm", ts=now)   # -> Venue.apply(cmd)
    for user, report in p.reports_from_event(event):            # Venue events -> reports
        ...

Modules: `schema` (constants, enum names), `messages` (one NamedTuple per template),
`codec` (encode / decode one message), `framing` (length prefix, incremental decoder),
`convert` (contract dicts <-> messages), `auth` (HMAC-SHA256 Logon), `errors`.
"""

from hftbook.protocol.auth import logon_payload, sign_logon, signed_logon, verify_logon
from hftbook.protocol.codec import (
    MessageHeader,
    decode,
    decode_at,
    decode_header,
    encode,
    encode_frame,
    template_by_id,
    template_of,
)
from hftbook.protocol.convert import (
    InstrumentScale,
    command_from_message,
    decimal_str,
    mantissa,
    market_data_message,
    message_from_command,
    reports_from_event,
    status_from_event,
)
from hftbook.protocol.errors import (
    BadFrameLength,
    ConversionError,
    EncodeError,
    FrameError,
    MalformedMessage,
    MessageError,
    MessageTooLarge,
    ProtocolError,
    UnknownTemplate,
    UnsupportedVersion,
    WrongSchema,
)
from hftbook.protocol.framing import FrameDecoder, frame
from hftbook.protocol.messages import (
    BusinessReject,
    CancelOrder,
    ClOrdId,
    ExecutionReportCancelled,
    ExecutionReportFill,
    ExecutionReportModified,
    ExecutionReportNew,
    ExecutionReportRejected,
    ExecutionReportTriggered,
    Heartbeat,
    Level,
    Logon,
    Logout,
    MarketDataL2Update,
    MarketDataSnapshot,
    MarketDataStatus,
    MarketDataTrade,
    MassCancel,
    Message,
    ModifyOrder,
    NewOrder,
    TestRequest,
)
from hftbook.protocol.schema import (
    HEADER_SIZE,
    LENGTH_PREFIX_SIZE,
    MAX_MESSAGE_SIZE,
    MIN_SUPPORTED_VERSION,
    PRICE_EXPONENT,
    SCHEMA_ID,
    SCHEMA_VERSION,
    schema_path,
    schema_xml,
)
from hftbook.protocol.wire import TEMPLATES, Template

__all__ = [
    "HEADER_SIZE", "LENGTH_PREFIX_SIZE", "MAX_MESSAGE_SIZE", "MIN_SUPPORTED_VERSION", "PRICE_EXPONENT",
    "SCHEMA_ID", "SCHEMA_VERSION", "TEMPLATES", "BadFrameLength", "BusinessReject", "CancelOrder",
    "ClOrdId", "ConversionError", "EncodeError", "ExecutionReportCancelled", "ExecutionReportFill",
    "ExecutionReportModified", "ExecutionReportNew", "ExecutionReportRejected", "ExecutionReportTriggered",
    "FrameDecoder", "FrameError", "Heartbeat", "InstrumentScale", "Level", "Logon", "Logout",
    "MalformedMessage", "MarketDataL2Update", "MarketDataSnapshot", "MarketDataStatus", "MarketDataTrade",
    "MassCancel", "Message", "MessageError", "MessageHeader", "MessageTooLarge", "ModifyOrder", "NewOrder",
    "ProtocolError", "Template", "TestRequest", "UnknownTemplate", "UnsupportedVersion", "WrongSchema",
    "command_from_message", "decimal_str", "decode", "decode_at", "decode_header", "encode",
    "encode_frame", "frame", "logon_payload", "mantissa", "market_data_message", "message_from_command",
    "reports_from_event", "schema_path", "schema_xml", "sign_logon", "signed_logon", "status_from_event",
    "template_by_id", "template_of", "verify_logon",
]
