"""MQTT: the live source (JSON on a unified namespace, or Sparkplug B) and the twin's publisher."""

from smartfactory.connect.mqtt.config import DEFAULT_TOPIC, MqttConfig
from smartfactory.connect.mqtt.publisher import MqttPublisher
from smartfactory.connect.mqtt.source import MqttSource

__all__ = ["DEFAULT_TOPIC", "MqttConfig", "MqttPublisher", "MqttSource"]
