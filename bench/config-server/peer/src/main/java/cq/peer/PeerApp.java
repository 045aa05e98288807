// The benchmark peer: Spring Cloud Config Server with nothing but @EnableConfigServer.
package cq.peer;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.cloud.config.server.EnableConfigServer;

@SpringBootApplication
@EnableConfigServer
public class PeerApp {
    public static void main(String[] args) {
        SpringApplication.run(PeerApp.class, args);
    }
}
