package io.lamina.contracts;

import io.lamina.contracts.messages.DatasetAnnounced;
import io.lamina.contracts.messages.LaminaMessage;
import io.lamina.contracts.messages.TrainingProgress;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class MessageCodecTest {

    @Test
    void messagesRoundTripWithTheirType() {
        var progress = new TrainingProgress("e1", 1, Instant.parse("2026-01-01T00:00:00Z"), "s", "t", "j", "tok", 3, 10, 1, 0.5, 12.0);
        byte[] json = MessageCodec.encode(progress);
        assertThat(new String(json, StandardCharsets.UTF_8)).startsWith("{\"type\":\"TrainingProgress\"");
        assertThat(MessageCodec.decode(json)).isEqualTo(progress);
    }

    @Test
    void upstreamEventsMayOmitTypeAndSchemaVersion() {
        String json = """
                {"eventId":"e1","streamId":"s","taskKey":"t","name":"n","description":"d","labels":["a"],
                 "train":[{"text":"x","label":"a"}],"test":[{"text":"y","label":"a"}],"extra":"ignored"}""";
        DatasetAnnounced event = MessageCodec.decode(json.getBytes(StandardCharsets.UTF_8), DatasetAnnounced.class);
        assertThat(event.schemaVersion()).isEqualTo(LaminaMessage.SCHEMA_VERSION);
        assertThat(event.train()).containsExactly(new LabeledText("x", "a"));
    }

    @Test
    void unreadableMessagesSayWhy() {
        assertThatThrownBy(() -> MessageCodec.decode("nope".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(MalformedMessageException.class).hasMessageContaining("not valid JSON");
        assertThatThrownBy(() -> MessageCodec.decode("[1]".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(MalformedMessageException.class).hasMessage("message is not a JSON object");
        assertThatThrownBy(() -> MessageCodec.decode("{\"type\":\"Nope\"}".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(MalformedMessageException.class).hasMessage("unknown message type 'Nope'");
        assertThatThrownBy(() -> MessageCodec.decode("{\"eventId\":\"e\",\"schemaVersion\":2}".getBytes(StandardCharsets.UTF_8), DatasetAnnounced.class))
                .isInstanceOf(MalformedMessageException.class).hasMessageContaining("unsupported schemaVersion 2");
        assertThatThrownBy(() -> MessageCodec.decode("{\"labels\":\"notalist\"}".getBytes(StandardCharsets.UTF_8), DatasetAnnounced.class))
                .isInstanceOf(MalformedMessageException.class).hasMessageContaining("invalid DatasetAnnounced");
        assertThatThrownBy(() -> MessageCodec.decode(new byte[0]))
                .isInstanceOf(MalformedMessageException.class).hasMessage("empty message");
    }

    @Test
    void deeplyNestedDocumentsAreRefused() {
        String deep = "{\"a\":".repeat(100) + "1" + "}".repeat(100);
        assertThatThrownBy(() -> MessageCodec.decode(deep.getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(MalformedMessageException.class);
    }

    @Test
    void overlongUtf8FractionalVersionsAndTrailingGarbageAreRefused() {
        String head = "{\"eventId\":\"e\",\"streamId\":\"s\",\"name\":\"a";
        byte[] overlong = new byte[head.length() + 4];
        System.arraycopy(head.getBytes(java.nio.charset.StandardCharsets.UTF_8), 0, overlong, 0, head.length());
        overlong[head.length()] = (byte) 0xC0; // C0 AF: an overlong '/', which Jackson alone would accept
        overlong[head.length() + 1] = (byte) 0xAF;
        overlong[head.length() + 2] = '"';
        overlong[head.length() + 3] = '}';
        assertThatThrownBy(() -> MessageCodec.decode(overlong, DatasetAnnounced.class))
                .isInstanceOf(MalformedMessageException.class).hasMessageContaining("not valid UTF-8");
        assertThatThrownBy(() -> MessageCodec.decode("{\"eventId\":\"e\",\"schemaVersion\":1.5}".getBytes(), DatasetAnnounced.class))
                .isInstanceOf(MalformedMessageException.class).hasMessageContaining("unsupported schemaVersion 1.5");
        assertThatThrownBy(() -> MessageCodec.decode("{\"eventId\":\"e\"} {}".getBytes(), DatasetAnnounced.class))
                .isInstanceOf(MalformedMessageException.class).hasMessageContaining("not valid JSON");
    }

    @Test
    void everyTopicHasADeadLetterTopic() {
        assertThat(Topics.deadLetter(Topics.UPSTREAM_DATASETS)).isEqualTo("lamina.upstream.datasets.dlq");
        assertThat(Topics.ALL).doesNotHaveDuplicates().allMatch(t -> t.startsWith("lamina."));
        assertThat(List.copyOf(Topics.ALL)).hasSize(12);
    }
}
