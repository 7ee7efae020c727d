package io.lamina.ingestion.messaging;

import io.lamina.contracts.MalformedMessageException;
import io.lamina.contracts.MessageCodec;
import io.lamina.contracts.messages.DatasetAnnounced;
import io.lamina.ingestion.domain.DatasetSubmission;
import io.lamina.ingestion.domain.IngestionService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.messaging.Message;

import java.util.function.Consumer;

/**
 * Consumes {@code lamina.upstream.datasets}. Unreadable messages (bad JSON, unknown schema
 * version, missing event id) throw {@link MalformedMessageException}, which is not retried and
 * lands in {@code lamina.upstream.datasets.dlq} with the reason in {@code x-exception-message}.
 * Readable but invalid datasets produce a {@code DatasetRejected} event instead.
 */
@Configuration(proxyBeanMethods = false)
class UpstreamDatasetsConsumer {
    private static final Logger log = LoggerFactory.getLogger(UpstreamDatasetsConsumer.class);

    @Bean
    Consumer<Message<byte[]>> upstreamDatasets(IngestionService ingestion) {
        return message -> {
            DatasetAnnounced event = MessageCodec.decode(message.getPayload(), DatasetAnnounced.class);
            if (event.eventId() == null || event.eventId().isBlank()) {
                throw new MalformedMessageException("DatasetAnnounced has no eventId");
            }
            var outcome = ingestion.ingest(DatasetSubmission.of(event), event.eventId());
            log.info("upstream dataset {} for stream {} task {}: {}", event.eventId(), event.streamId(), event.taskKey(),
                    outcome.getClass().getSimpleName());
        };
    }
}
