"""One ``APIRouter`` per resource; ``session_relay.api.main`` includes each."""
