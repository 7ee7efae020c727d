package io.lamina.contracts;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lamina.contracts.messages.*;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Reads and writes Kafka messages. The JSON carries {@code type} (the record's simple name) and
 * {@code schemaVersion}; a reader refuses unknown types and other major versions with a
 * {@link MalformedMessageException} whose message is the reason sent to the dead-letter topic.
 */
public final class MessageCodec {
    private static final List<Class<? extends LaminaMessage>> TYPES = List.of(
            DatasetAnnounced.class, DatasetIngested.class, DatasetRejected.class,
            TrainAdapter.class, TrainingProgress.class, TrainingCompleted.class, CommandFailed.class,
            RegisterAdapter.class, AdapterRegistered.class, ChangeAdapterStatus.class, AdapterStatusChanged.class,
            EvaluateStream.class, EvaluationCompleted.class, MergeAdapters.class, AdaptersMerged.class,
            FindNearestAdapter.class, NearestAdapterFound.class, GenerateAdapter.class, AdapterGenerated.class,
            GeneratorTrainingDue.class, TrainGenerator.class, GeneratorTrained.class);
    private static final Map<String, Class<? extends LaminaMessage>> BY_NAME =
            TYPES.stream().collect(Collectors.toUnmodifiableMap(Class::getSimpleName, Function.identity()));

    public static byte[] encode(LaminaMessage message) {
        ObjectNode node = Json.mapper().valueToTree(message);
        ObjectNode out = Json.mapper().createObjectNode();
        out.put("type", message.getClass().getSimpleName());
        out.setAll(node);
        try {
            return Json.mapper().writeValueAsBytes(out);
        } catch (IOException e) {
            throw new IllegalStateException("cannot encode " + message.getClass().getSimpleName(), e);
        }
    }

    /** Decodes any known message by its {@code type} field. */
    public static LaminaMessage decode(byte[] bytes) {
        JsonNode node = readTree(bytes);
        String type = node.path("type").asText(null);
        if (type == null) throw new MalformedMessageException("message has no 'type' field");
        Class<? extends LaminaMessage> cls = BY_NAME.get(type);
        if (cls == null) throw new MalformedMessageException("unknown message type '" + type + "'");
        return convert(node, cls);
    }

    /**
     * Decodes a message of one expected type. {@code type} may be absent (upstream producers need
     * not send it) but must match when present; a missing {@code schemaVersion} means 1.
     */
    public static <T extends LaminaMessage> T decode(byte[] bytes, Class<T> expected) {
        JsonNode node = readTree(bytes);
        String type = node.path("type").asText(null);
        if (type != null && !type.equals(expected.getSimpleName())) {
            throw new MalformedMessageException("expected type '" + expected.getSimpleName() + "' but got '" + type + "'");
        }
        return convert(node, expected);
    }

    private static JsonNode readTree(byte[] bytes) {
        if (bytes == null || bytes.length == 0) throw new MalformedMessageException("empty message");
        checkUtf8(bytes);
        try {
            JsonNode node = Json.mapper().readTree(bytes);
            if (node == null || !node.isObject()) throw new MalformedMessageException("message is not a JSON object");
            return node;
        } catch (JacksonException e) {
            throw new MalformedMessageException("message is not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new MalformedMessageException("message cannot be read: " + e.getMessage(), e);
        }
    }

    /**
     * Messages are strict UTF-8. Jackson's parser rejects most malformed bytes but decodes overlong
     * forms (e.g. {@code C0 AF} as {@code /}), which would let an encoded path separator through.
     */
    private static void checkUtf8(byte[] bytes) {
        try {
            StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes));
        } catch (CharacterCodingException e) {
            throw new MalformedMessageException("message is not valid UTF-8: " + e.getMessage(), e);
        }
    }

    private static <T extends LaminaMessage> T convert(JsonNode node, Class<T> cls) {
        ObjectNode copy = ((ObjectNode) node).deepCopy();
        copy.remove("type");
        JsonNode version = copy.get("schemaVersion");
        if (version == null || version.isNull()) {
            copy.put("schemaVersion", LaminaMessage.SCHEMA_VERSION);
        } else if (!version.isIntegralNumber() || !version.canConvertToInt() || version.asInt() != LaminaMessage.SCHEMA_VERSION) {
            throw new MalformedMessageException("unsupported schemaVersion " + version + " for " + cls.getSimpleName()
                    + " (this reader supports " + LaminaMessage.SCHEMA_VERSION + ")");
        }
        try {
            return Json.mapper().treeToValue(copy, cls);
        } catch (JacksonException e) {
            throw new MalformedMessageException("invalid " + cls.getSimpleName() + ": " + e.getOriginalMessage(), e);
        }
    }

    private MessageCodec() {
    }
}
