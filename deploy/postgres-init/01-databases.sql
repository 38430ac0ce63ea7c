-- Run once by the postgres image on an empty volume: the conversation (tracker) store gets its
-- own database next to the ticket database (POSTGRES_DB). Tables are created by the migrations
-- job (tickets) and by Rasa itself (tracker store) on first start.
CREATE DATABASE rasa_tracker;
