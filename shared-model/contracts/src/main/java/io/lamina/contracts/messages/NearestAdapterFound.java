package io.lamina.contracts.messages;

import java.time.Instant;

/** The nearest adapter (null ids when the index is empty), with the cosine similarity of descriptions. */
public record NearestAdapterFound(String eventId, int schemaVersion, Instant occurredAt, String streamId,
                                  String taskToken, String adapterId, String blobKey,
                                  double similarity) implements AsyncReply {
}
